"""The sentiment stage against the real RabbitMQ and Elasticsearch, X through its stand-in."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.stages.sentiment import SentimentStage
from consumers.store import elastic
from tests import broker, search
from tests.helpers import eventually
from tests.integration.stages.sentiment_helpers import (
    BRAND,
    X_TOKEN,
    import_file,
    members,
    publish,
    sentiment_of,
    sentiment_settings,
    signup,
    stored_mentions,
    twitter_user,
)
from tests.standins.x_api import SEARCH_PATH, XStandIn
from tests.workers import running

NOW = datetime.now(UTC)
ANGRY = "@InnovaShoes my Stride fell apart after two weeks. Worst shoes I have ever bought 😡"
HAPPY = "Love my new @InnovaShoes, best running shoes I've owned!"


@pytest.fixture
def x_api() -> Iterator[XStandIn]:
    with XStandIn(X_TOKEN) as standin:
        yield standin


def lookups_of(x_api: XStandIn, handle: str) -> int:
    return sum(
        1 for r in x_api.requests_to(SEARCH_PATH) if f"from:{handle}" in r.query.get("query", "")
    )


def test_a_negative_user_enters_the_segment_with_evidence_positive_and_silent_users_do_not(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(monkeypatch, x_api.base_url)
    angry = x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=2))
    x_api.add_post(HAPPY, "bob", created_at=NOW - timedelta(days=1))
    x_api.add_post("@InnovaShoes my order is a week late and nobody answers", "dave")
    x_api.add_post("@InnovaShoes new colours are out, check them", BRAND)  # the brand itself
    alice_id, bob_id = x_api.users["alice"][0], x_api.users["bob"][0]
    assert main(["setup"]) == 0
    with running(settings, ("index", "sentiment")):
        publish(
            [
                signup(twitter_user("alice", alice_id)),
                signup(twitter_user("bob", bob_id)),
                signup(twitter_user("carol", "1400000000")),
            ],
            tmp_path,
        )
        users = ("twitter|" + alice_id, "twitter|" + bob_id, "twitter|1400000000")
        eventually(
            lambda: all(sentiment_of(settings, u) for u in users),
            message="a sentiment summary on each profile",
        )
        assert members(settings) == {"twitter|" + alice_id}
        alice = sentiment_of(settings, "twitter|" + alice_id)
        assert alice is not None
        assert alice["label"] == "negative"
        assert alice["mentions"] == 1
        assert alice["handle"] == "alice"
        assert alice["author_id"] == [alice_id]
        assert [e["id"] for e in alice["evidence"]] == [angry.id]
        assert alice["evidence"][0]["text"] == ANGRY
        assert alice["evidence"][0]["url"] == f"https://x.com/alice/status/{angry.id}"
        bob = sentiment_of(settings, "twitter|" + bob_id)
        assert bob is not None and bob["label"] == "positive" and bob["evidence"] == []
        carol = sentiment_of(settings, "twitter|1400000000")
        assert carol is not None and carol["status"] == "no_mentions" and "label" not in carol
        # more logins within the interval: nobody is looked up again
        publish([signup(twitter_user("alice", alice_id), "auth.login") for _ in range(3)], tmp_path)
        names = Names(settings.name_prefix)
        eventually(lambda: broker.message_count(settings, names.work_queue("index")) == 0)
        eventually(lambda: broker.message_count(settings, names.work_queue("sentiment")) == 0)
    assert [lookups_of(x_api, h) for h in ("alice", "bob", "carol")] == [1, 1, 1]
    for request in x_api.requests_to(SEARCH_PATH):
        assert "-from:InnovaShoes" in request.query["query"]
        assert "-is:retweet" in request.query["query"]
    stored = stored_mentions(settings)
    assert {m["handle"] for m in stored.values()} == {"alice", "bob"}  # only what was asked for
    assert x_api.posts_read == 2


def comparable(block: dict[str, object] | None) -> dict[str, object]:
    """What a summary says about the user, without when it was made."""
    assert block is not None
    skip = {"updated_at", "looked_up_at"}
    return {k: v for k, v in block.items() if k not in skip}


def test_imported_mentions_give_the_same_profiles_as_the_api_and_importing_twice_changes_nothing(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    posts = [
        x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=3)),
        x_api.add_post("@InnovaShoes still no refund after 3 weeks", "alice",
                       created_at=NOW - timedelta(days=2)),
        x_api.add_post(HAPPY, "bob", created_at=NOW - timedelta(days=1)),
        x_api.add_post("Is the @InnovaShoes Pace good for trail?", "bob"),
    ]
    ids = {h: x_api.users[h][0] for h in ("alice", "bob")}
    users = [signup(twitter_user(h, i)) for h, i in ids.items()]
    # 1. through X
    api_settings = sentiment_settings(monkeypatch, x_api.base_url)
    assert main(["setup"]) == 0
    with running(api_settings, ("index", "sentiment")):
        publish(users, tmp_path)
        eventually(lambda: all(sentiment_of(api_settings, f"twitter|{i}") for i in ids.values()))
    through_api = {i: comparable(sentiment_of(api_settings, f"twitter|{i}")) for i in ids.values()}
    # 2. the same posts from a file, in another installation without an X token
    monkeypatch.setenv("AUTHSTREAM_NAME_PREFIX", api_settings.name_prefix + "import-")
    monkeypatch.delenv("AUTHSTREAM_X_BEARER_TOKEN")
    imported = Settings()
    lines = [  # as an export of the same posts would have them (X gives whole seconds)
        {"id": p.id, "handle": "@" + p.username, "author_id": p.author_id, "text": p.text,
         "created_at": p.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "lang": p.lang}
        for p in posts
    ]
    try:
        assert main(["setup"]) == 0
        # mentions first, users later: kept, then attached when the users sign up
        assert import_file(lines, tmp_path) == 0
        with running(imported, ("index", "sentiment")):
            eventually(lambda: len(stored_mentions(imported)) == 4, message="4 stored mentions")
            publish(users, tmp_path)
            eventually(
                lambda: all(
                    (sentiment_of(imported, f"twitter|{i}") or {}).get("mentions") == 2
                    for i in ids.values()
                )
            )
            through_file = {
                i: comparable(sentiment_of(imported, f"twitter|{i}")) for i in ids.values()
            }
            assert through_file == through_api
            assert members(imported) == {f"twitter|{ids['alice']}"}
            versions = {i: search.profile(imported, f"twitter|{i}")["version"] for i in ids.values()}
            assert import_file(lines, tmp_path) == 0  # again: nothing changes
            names = Names(imported.name_prefix)
            eventually(lambda: broker.message_count(imported, names.work_queue("sentiment")) == 0)
            eventually(lambda: broker.message_count(imported, names.work_queue("index")) == 0)
        assert {
            i: search.profile(imported, f"twitter|{i}")["version"] for i in ids.values()
        } == versions
        assert len(stored_mentions(imported)) == 4
    finally:
        asyncio.run(remove_everything(imported))


def sweep_once(settings: Settings) -> None:
    """One run of the brand-wide sweep, as the periodic job runs it."""

    async def run() -> None:
        async with elastic.connect(settings) as es:
            stage = SentimentStage.from_settings(es, settings)
            try:
                assert [job.name for job in stage.periodic] == ["sentiment-sweep"]
                assert await stage.sweep(datetime.now(UTC)) == []
            finally:
                await stage.aclose()

    asyncio.run(run())


def test_the_sweep_attaches_mentions_to_known_users_keeps_the_others_and_reads_only_new_posts(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(
        monkeypatch, x_api.base_url, AUTHSTREAM_SENTIMENT_SWEEP_MINUTES="60"
    )
    x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=5))
    x_api.add_post(HAPPY, "bob", created_at=NOW - timedelta(days=1))
    x_api.add_post("@InnovaShoes worst customer service ever, never again", "dave",
                   created_at=NOW - timedelta(days=1))
    ids = {h: x_api.users[h][0] for h in ("alice", "bob", "dave")}
    alice, bob, dave = (f"twitter|{ids[h]}" for h in ("alice", "bob", "dave"))
    assert main(["setup"]) == 0
    with running(settings, ("index",)):  # the sweep alone, no per-user look-ups yet
        publish([signup(twitter_user(h, ids[h])) for h in ("alice", "bob")], tmp_path)
        eventually(lambda: search.profile(settings, bob))
        sweep_once(settings)
        eventually(lambda: sentiment_of(settings, alice) and sentiment_of(settings, bob))
        assert members(settings) == {alice}
        assert x_api.posts_read == 3
        assert set(stored_mentions(settings)) == {p.id for p in x_api.posts}  # dave's kept
    with running(settings, ("index", "sentiment")):
        publish([signup(twitter_user("dave", ids["dave"]))], tmp_path)
        eventually(lambda: sentiment_of(settings, dave), message="dave's stored mention attached")
        assert members(settings) == {alice, dave}
        assert x_api.posts_read == 3  # his look-up started after what the sweep had read
        # alice is happy now: the next sweep reads that one post and moves her out
        x_api.add_post("Update: @InnovaShoes replaced my pair in two days. Love them, thank you!",
                       "alice")
        sweep_once(settings)
        eventually(lambda: alice not in members(settings), message="alice leaves the segment")
    assert members(settings) == {dave}
    assert x_api.posts_read == 4
    sweeps = [r for r in x_api.requests_to(SEARCH_PATH) if "from:" not in r.query["query"].split()[0]]
    assert "since_id" not in sweeps[0].query and "since_id" in sweeps[-1].query
    summary = sentiment_of(settings, alice)
    assert summary is not None and summary["label"] == "positive" and summary["mentions"] == 2
    assert len(summary["evidence"]) == 1  # the old complaint stays visible
