import pytest

from consumers.cli.main import main
from consumers.cli.setup import topology_for
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.demo.run import demo_settings
from consumers.demo.synthetic import synthetic_mentions, synthetic_tenant
from consumers.segments.definitions import load_segments
from consumers.sentiment.models import model_name
from consumers.stages.catalog import enabled_stages
from tests import broker, search


def test_the_demo_prints_the_three_segments_and_is_idempotent(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--users", "120"]) == 0
    first = capsys.readouterr().out
    for name in ("preorder-running-men", "registered-not-returned", "negative-twitter-sentiment"):
        assert f"\n{name}: " in first
    assert "indexed" in first
    assert main(["demo", "--users", "120"]) == 0  # same event ids: nothing changes
    second = capsys.readouterr().out

    def counts(text: str) -> list[str]:
        return [line.split(" — ")[0] for line in text.splitlines() if " member(s) — " in line]

    assert counts(first) == counts(second)
    assert any(not c.endswith(": 0 member(s)") for c in counts(first))


def test_after_the_demo_no_declared_queue_holds_messages_and_nothing_is_left_over(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["demo", "--users", "60"]) == 0
    capsys.readouterr()
    settings = demo_settings(settings)  # the stages the demo ran (sentiment on imported mentions)
    monkeypatch.setenv("AUTHSTREAM_BRAND_HANDLE", settings.brand_handle or "")
    topology = topology_for(settings, enabled_stages(settings))
    for queue in topology.queues:  # work queues, retry queues and parking lots alike
        assert broker.drained(settings, queue.name), queue.name
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert "leftover" not in out and "not checked" not in out


def test_the_demos_sentiment_comes_from_imported_mentions_scored_by_the_real_stage(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    events = synthetic_tenant(120)
    assert not [e for e in events if e["type"] == "profile.sentiment"]  # nothing pre-scored
    mentions = {m["id"]: m for m in synthetic_mentions(events)}
    assert main(["demo", "--users", "120"]) == 0
    out = capsys.readouterr().out
    assert "brand mentions for the sentiment stage" in out
    names = Names(settings.name_prefix)
    with search.client(settings) as es:
        es.indices.refresh(index=names.mentions_index)
        assert es.count(index=names.mentions_index)["count"] == len(mentions)
        found = es.search(
            index=names.users_alias,
            query=load_segments()["negative-twitter-sentiment"].render(),
            size=100,
        )
    negative = [hit["_source"]["sentiment"] for hit in found["hits"]["hits"]]
    assert negative, "the demo tenant has unhappy Twitter customers"
    for summary in negative:
        assert summary["provider"] == model_name(settings)  # scored by the stage's model
        assert summary["evidence"], "each comes with the posts that put them there"
        for post in summary["evidence"]:
            assert mentions[post["id"]]["text"] == post["text"]
            assert mentions[post["id"]]["handle"] == summary["handle"]
