"""The sentiment stage against the real RabbitMQ and Elasticsearch, X through its stand-in."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from structlog.testing import capture_logs

from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.sentiment.twitter import XRecentSearch
from consumers.stages.sentiment import REQUESTED, SentimentStage
from consumers.store import elastic
from schemas import Event
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
from tests.metrics import sample
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
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
        eventually(lambda: broker.settled(settings, names.work_queue("sentiment")))
    assert broker.drained(settings, names.work_queue("index"))
    assert broker.drained(settings, names.work_queue("sentiment"))
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
        x_api.add_post(
            "@InnovaShoes still no refund after 3 weeks",
            "alice",
            created_at=NOW - timedelta(days=2),
        ),
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
        {
            "id": p.id,
            "handle": "@" + p.username,
            "author_id": p.author_id,
            "text": p.text,
            "created_at": p.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lang": p.lang,
        }
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
            versions = {
                i: search.profile(imported, f"twitter|{i}")["version"] for i in ids.values()
            }
            assert import_file(lines, tmp_path) == 0  # again: nothing changes
            names = Names(imported.name_prefix)
            eventually(lambda: broker.settled(imported, names.work_queue("sentiment")))
            eventually(lambda: broker.settled(imported, names.work_queue("index")))
        assert broker.drained(imported, names.work_queue("sentiment"))
        assert broker.drained(imported, names.work_queue("index"))
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
    x_api.add_post(
        "@InnovaShoes worst customer service ever, never again",
        "dave",
        created_at=NOW - timedelta(days=1),
    )
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
        assert x_api.posts_read == 3
        # a complete sweep ran within its interval: the look-ups asked X nothing
        assert [lookups_of(x_api, h) for h in ("alice", "bob", "dave")] == [0, 0, 0]
        # alice is happy now: the next sweep reads that one post and moves her out
        x_api.add_post(
            "Update: @InnovaShoes replaced my pair in two days. Love them, thank you!", "alice"
        )
        sweep_once(settings)
        eventually(lambda: alice not in members(settings), message="alice leaves the segment")
    assert members(settings) == {dave}
    assert x_api.posts_read == 4
    sweeps = [
        r for r in x_api.requests_to(SEARCH_PATH) if "from:" not in r.query["query"].split()[0]
    ]
    assert "since_id" not in sweeps[0].query and "since_id" in sweeps[-1].query
    summary = sentiment_of(settings, alice)
    assert summary is not None and summary["label"] == "positive" and summary["mentions"] == 2
    assert len(summary["evidence"]) == 1  # the old complaint stays visible


def parked(settings: Settings) -> int:
    return broker.message_count(settings, Names(settings.name_prefix).parking_lot("sentiment"))


def test_rejected_credentials_hold_the_stage_loudly_until_they_work(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(monkeypatch, x_api.base_url)
    x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=1))
    alice_id = x_api.users["alice"][0]
    x_api.bearer_token = "rotated-at-x"  # the token authstream has no longer works
    assert main(["setup"]) == 0
    publish([signup(twitter_user("alice", alice_id))], tmp_path)
    with capture_logs() as logs, running(settings, ("index", "sentiment")):
        eventually(lambda: len(x_api.requests_to(SEARCH_PATH)) >= 2, message="two refused calls")
        eventually(lambda: sample("authstream_third_party_auth_rejected", provider="x") == 1)
        assert sample("authstream_dependency_down", stage="sentiment") == 1
        assert sentiment_of(settings, f"twitter|{alice_id}") is None
        assert parked(settings) == 0  # held, not parked
        x_api.bearer_token = X_TOKEN  # the operator fixes the token; the held batch goes through
        eventually(lambda: sentiment_of(settings, f"twitter|{alice_id}"), timeout=40)
        assert sample("authstream_third_party_auth_rejected", provider="x") == 0
    assert parked(settings) == 0
    assert any(
        entry["log_level"] == "error" and "X rejected the bearer token" in entry["event"]
        for entry in logs
    )
    assert all(X_TOKEN not in str(entry) for entry in logs)


def test_a_429_waits_for_the_reset_it_announces(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with XStandIn(X_TOKEN, window_seconds=4) as x_api:
        settings = sentiment_settings(monkeypatch, x_api.base_url)
        x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=1))
        alice_id = x_api.users["alice"][0]
        assert main(["setup"]) == 0
        reset = int(x_api.limiter.reset_at())
        x_api.throttle(times=1)
        with running(settings, ("index", "sentiment")):
            publish([signup(twitter_user("alice", alice_id))], tmp_path)
            eventually(lambda: sentiment_of(settings, f"twitter|{alice_id}"), timeout=30)
        first, second = x_api.requests_to(SEARCH_PATH)[:2]
    assert first.fault == "fail" and second.fault is None
    wall_offset = time.time() - time.monotonic()
    waited_for = reset - (first.received_at + wall_offset)
    assert second.received_at - first.received_at >= waited_for - 1.0  # reset: whole seconds
    assert parked(settings) == 0


def test_an_outage_holds_the_batch_and_it_recovers(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(monkeypatch, x_api.base_url)
    x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=1))
    alice_id = x_api.users["alice"][0]
    assert main(["setup"]) == 0
    x_api.unavailable(times=4)  # three tries of the first attempt, the first of the second
    before = sample("authstream_third_party_calls_total", provider="x", outcome="unavailable")
    with running(settings, ("index", "sentiment")):
        publish([signup(twitter_user("alice", alice_id))], tmp_path)
        summary = eventually(lambda: sentiment_of(settings, f"twitter|{alice_id}"), timeout=30)
    assert summary["label"] == "negative"
    faults = [r.fault for r in x_api.requests_to(SEARCH_PATH)]
    assert faults == ["fail"] * 4 + [None]
    after = sample("authstream_third_party_calls_total", provider="x", outcome="unavailable")
    assert after - before == 4
    assert parked(settings) == 0


def budget_used(settings: Settings) -> int:
    month = datetime.now(UTC).strftime("%Y-%m")
    with search.client(settings) as es:
        found = es.get(index=Names(settings.name_prefix).state_index, id=f"budget:x:{month}")
        return int(found["_source"]["used"])


def test_the_monthly_read_budget_is_never_exceeded_and_unread_posts_are_given_back(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(
        monkeypatch,
        x_api.base_url,
        AUTHSTREAM_X_MONTHLY_READ_BUDGET="25",
        AUTHSTREAM_SENTIMENT_SWEEP_MINUTES="60",
    )
    for n in range(5):
        x_api.add_post(
            f"@InnovaShoes pair number {n} fell apart",
            f"early{n}",
            created_at=NOW - timedelta(hours=10 - n),
        )
    assert main(["setup"]) == 0
    sweep_once(settings)  # asks for 25, gets 5, gives 20 back
    assert (x_api.posts_read, budget_used(settings)) == (5, 5)
    assert sample("authstream_third_party_budget_remaining", provider="x", period="month") == 20
    for n in range(40):
        x_api.add_post(
            f"@InnovaShoes love pair {n}", f"fan{n}", created_at=NOW - timedelta(hours=5, minutes=n)
        )
    sweep_once(settings)  # 20 left: one page of 20, then under X's minimum page of 10
    assert (x_api.posts_read, budget_used(settings)) == (25, 25)
    fans = [f"fan{n}" for n in (0, 1, 39)]
    with running(settings, ("index", "sentiment")):
        publish([signup(twitter_user(h, x_api.users[h][0])) for h in fans], tmp_path)
        # no budget left: summaries come from what is stored, without asking X
        eventually(
            lambda: all(sentiment_of(settings, f"twitter|{x_api.users[h][0]}") for h in fans)
        )
    sweep_once(settings)
    assert x_api.posts_read == 25 == budget_used(settings)
    assert len(x_api.requests_to(SEARCH_PATH)) == 2  # nothing asked once the budget was spent
    assert sample("authstream_third_party_budget_remaining", provider="x", period="month") == 0
    stored = stored_mentions(settings)
    assert len(stored) == 25
    read_fans = {
        f"twitter|{x_api.users[h][0]}"
        for h in fans
        if any(m["handle"] == h for m in stored.values())
    }
    for user_id in read_fans:
        assert (sentiment_of(settings, user_id) or {}).get("label") == "positive"


def request(user_id: str, handle: str) -> Event:
    return Event.model_validate(
        {
            "schema": "authstream.event/1",
            "event_id": str(uuid.uuid4()),
            "type": REQUESTED,
            "occurred_at": NOW.isoformat(),
            "source": "authstream",
            "user": {"user_id": user_id},
            "data": {"handle": handle, "author_id": []},
        }
    )


def test_a_handle_is_looked_up_once_per_interval_then_only_for_newer_posts(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = sentiment_settings(
        monkeypatch, x_api.base_url, AUTHSTREAM_SENTIMENT_REFRESH_HOURS="1"
    )
    first = x_api.add_post(ANGRY, "alice", created_at=NOW - timedelta(days=1))
    alice = f"twitter|{x_api.users['alice'][0]}"
    assert main(["setup"]) == 0
    with running(settings, ("index",)):
        publish([signup(twitter_user("alice", x_api.users["alice"][0]))], tmp_path)
        eventually(lambda: search.profile(settings, alice))
    clock = [NOW]

    async def scenario() -> list[list[dict[str, object]]]:
        async with elastic.connect(settings) as es:
            api = XRecentSearch.from_settings(settings)
            stage = SentimentStage(es, settings, api, clock=lambda: clock[0])
            answers = []
            try:
                for step in (timedelta(0), timedelta(minutes=59), timedelta(minutes=2)):
                    clock[0] += step
                    handled = await stage.handle([request(alice, "alice"), request(alice, "alice")])
                    answers.append([orjson.loads(e.body)["data"] for e in handled.emits])
            finally:
                await stage.aclose()
            return answers

    x_api.add_post("@InnovaShoes the replacement pair is great", "alice")
    answers = asyncio.run(scenario())
    lookups = [r for r in x_api.requests_to(SEARCH_PATH) if "from:alice" in r.query["query"]]
    assert len(lookups) == 2  # at 0 and after the hour; not at 59 minutes, not twice per batch
    assert "since_id" not in lookups[0].query
    assert int(lookups[1].query["since_id"]) > int(first.id)  # only what is newer
    assert x_api.posts_read == 2
    looked = [[a["looked_up_at"] for a in step] for step in answers]
    assert looked[0] == looked[1] == [NOW.isoformat()] * 2
    assert looked[2] == [(NOW + timedelta(minutes=61)).isoformat()] * 2
    assert [step[0]["mentions"] for step in answers] == [2, 2, 2]


def test_the_sweep_follows_pages_and_a_cut_short_sweep_resumes_where_it_stopped(
    settings: Settings, x_api: XStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = sentiment_settings(
        monkeypatch,
        x_api.base_url,
        AUTHSTREAM_SENTIMENT_SWEEP_MINUTES="60",
        AUTHSTREAM_SENTIMENT_SWEEP_MAX_PAGES="1",
    )
    for n in range(130):
        x_api.add_post(
            f"@InnovaShoes pair {n} is great",
            f"fan{n}",
            created_at=NOW - timedelta(hours=30, minutes=-n),
        )
    assert main(["setup"]) == 0
    sweep_once(settings)  # one page allowed: the newest 100, then it stops
    assert (x_api.posts_read, len(stored_mentions(settings))) == (100, 100)
    sweep_once(settings)  # reads on below where it stopped: the oldest 30
    assert (x_api.posts_read, len(stored_mentions(settings))) == (130, 130)
    resumed = x_api.requests_to(SEARCH_PATH)[1].query
    assert "until_id" in resumed and "next_token" not in resumed
    sweep_once(settings)  # complete: nothing new, nothing read again
    assert x_api.posts_read == 130
    assert "since_id" in x_api.requests_to(SEARCH_PATH)[2].query
    # with room for more pages, one sweep follows next_token to the last page
    monkeypatch.setenv("AUTHSTREAM_SENTIMENT_SWEEP_MAX_PAGES", "10")
    for n in range(120):
        x_api.add_post(f"@InnovaShoes second pair {n} is great", f"late{n}")
    sweep_once(Settings())
    pages = x_api.requests_to(SEARCH_PATH)[3:]
    assert [("next_token" in p.query) for p in pages] == [False, True]
    assert x_api.posts_read == 250 == len(stored_mentions(settings))
