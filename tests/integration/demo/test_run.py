import pytest

from consumers.cli.main import main
from consumers.cli.setup import topology_for
from consumers.core.settings import Settings
from consumers.stages.catalog import enabled_stages
from tests import broker


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
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--users", "60"]) == 0
    capsys.readouterr()
    topology = topology_for(settings, enabled_stages(settings))
    for queue in topology.queues:  # work queues, retry queues and parking lots alike
        assert broker.message_count(settings, queue.name) == 0, queue.name
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert "leftover" not in out and "not checked" not in out
