"""The indexer against the real RabbitMQ and Elasticsearch."""

import asyncio

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG, StageContext
from consumers.store import elastic
from schemas import Event
from tests import broker, search
from tests.helpers import database_user as user
from tests.helpers import dumps, envelope, eventually, publish_events
from tests.metrics import sample
from tests.workers import running


def test_events_are_indexed_once_and_duplicates_are_not_counted(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    signup = envelope(type="auth.signup", occurred_at="2026-01-01T09:00:00Z", user=user(1))
    logins = [
        envelope(
            type="auth.login", occurred_at=f"2026-01-0{d}T10:00:00Z", user=user(1, logins_count=d)
        )
        for d in range(2, 6)
    ]
    publish_events([signup, *logins], tmp_path)
    publish_events([logins[0], logins[2], signup], tmp_path)  # redelivered duplicates
    with running(settings):
        eventually(lambda: search.count_events(settings) == 5, message="5 event documents")
        names = Names(settings.name_prefix)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
        profile = eventually(lambda: search.profile(settings, "auth0|user1"))
        eventually(
            lambda: (
                (search.profile(settings, "auth0|user1") or {}).get("counters")
                == {"signups": 1, "logins": 4}
            ),
            message="exact counters",
        )
    assert broker.drained(settings, names.work_queue("index"))
    profile = search.profile(settings, "auth0|user1")
    assert profile is not None
    assert profile["email"] == "user1@example.com"
    assert profile["logins_count"] == 5
    assert profile["first_seen"] == "2026-01-01T09:00:00Z"
    assert profile["last_login"] == "2026-01-05T10:00:00Z"
    assert profile["returned"] is True
    assert search.count_events(settings, **{"user.id": "auth0|user1"}) == 5


def test_poison_messages_are_parked_with_reasons_and_the_stream_continues(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    good = [envelope(user=user(n)) for n in range(3)]
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        for body in (
            b"not json",
            dumps(envelope(schema="authstream.event/7")),
            dumps(good[0]),
            dumps(envelope(user={"name": "no id"})),
            dumps(good[1]),
            dumps(good[2]),
        ):
            ch.basic_publish(names.exchange, "auth.login", body)
    with running(settings):
        eventually(lambda: search.count_events(settings) == 3, message="the good events indexed")
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 3)
    parked = broker.drain(settings, names.parking_lot("index"))
    reasons = sorted(p.headers["x-authstream-error"] for _, p, _ in parked)
    assert reasons[0].startswith("invalid event: Invalid JSON")
    assert "unsupported schema 'authstream.event/7'" in reasons[1]
    assert "user.user_id: Field required" in reasons[2]
    assert sorted(body for _, _, body in parked)[0] == b"not json"  # original body kept


def test_user_deleted_erases_profile_and_history_and_a_late_event_cannot_revive(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    history = [
        envelope(type="auth.signup", occurred_at="2026-02-01T09:00:00Z", user=user(n))
        for n in (1, 2)
    ] + [
        envelope(type="auth.login", occurred_at="2026-02-03T09:00:00Z", user=user(n))
        for n in (1, 2)
    ]
    publish_events(history, tmp_path)
    with running(settings):
        eventually(lambda: search.count_events(settings) == 4, message="the history indexed")
        publish_events(
            [envelope(type="user.deleted", occurred_at="2026-02-04T09:00:00Z", user=user(1))],
            tmp_path,
        )
        eventually(
            lambda: search.count_events(settings, **{"user.id": "auth0|user1"}) == 0,
            message="user 1's events erased",
        )
        late = envelope(type="auth.login", occurred_at="2026-02-05T09:00:00Z", user=user(1))
        publish_events([late], tmp_path)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
    assert broker.drained(settings, names.work_queue("index"))
    tombstone = search.profile(settings, "auth0|user1")
    assert tombstone is not None and tombstone["deleted_at"].startswith("2026-02-04")
    assert "email" not in tombstone and "name" not in tombstone  # no personal data kept
    assert search.count_events(settings, **{"user.id": "auth0|user1"}) == 0  # not revived
    assert search.count_events(settings, **{"user.id": "auth0|user2"}) == 2  # others untouched
    search.refresh_users(settings)
    with search.client(settings) as es:
        visible = es.count(index=names.users_alias, query={"match_all": {}})["count"]
    assert visible == 1  # the alias hides the tombstone from segments and Kibana
    assert broker.message_count(settings, names.parking_lot("index")) == 0


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": "x"}
    for _ in range(depth):
        value = {"deeper": value}
    return value


def test_a_document_elasticsearch_rejects_is_parked_and_the_rest_of_the_batch_indexed(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    good = [envelope(type="auth.login", user=user(n)) for n in range(3)]
    # Valid for the contract, refused by the events mapping (flattened fields nest at most 20).
    too_deep = envelope(type="behavior.page_viewed", user=user(9), data=nested(25))
    publish_events([good[0], too_deep, good[1], good[2]], tmp_path)
    rejected = {"stage": "index", "reason": "rejected"}
    before = sample("authstream_bulk_item_failures_total", **rejected)
    with running(settings):
        eventually(lambda: search.count_events(settings) == 3, message="the good events")
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 1)
    assert sample("authstream_bulk_item_failures_total", **rejected) == before + 1
    [(_, properties, body)] = broker.drain(settings, names.parking_lot("index"))
    assert properties.message_id == too_deep["event_id"] and body == dumps(too_deep)
    assert "Elasticsearch rejected the document" in properties.headers["x-authstream-error"]
    assert "depth" in properties.headers["x-authstream-error"]


def test_a_finding_its_block_cannot_store_is_parked_alone_and_its_user_s_logins_counted(
    settings: Settings, tmp_path
) -> None:
    """A ``profile.sentiment`` whose mapped ``score`` is no number would make the users index
    refuse the whole profile, and with it the logins of that user in the same batch."""
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    logins = [envelope(type="auth.login", user=user(1)) for _ in range(2)]
    finding = {"score": "abc", "label": "negative", "mentions": 3}
    bad = envelope(type="profile.sentiment", source="authstream", user=user(1), data=finding)
    sound = envelope(
        type="profile.sentiment", source="authstream", user=user(2), data=finding | {"score": -0.4}
    )
    publish_events([logins[0], bad, logins[1], sound], tmp_path)
    with running(settings):
        eventually(lambda: broker.message_count(settings, names.parking_lot("index")) == 1)
        eventually(lambda: search.count_events(settings) == 3, message="the rest indexed")
    [(_, properties, body)] = broker.drain(settings, names.parking_lot("index"))
    assert properties.message_id == bad["event_id"] and body == dumps(bad)
    reason = properties.headers["x-authstream-error"]
    assert reason.startswith("a profile.sentiment finding that cannot be stored: score: ")
    assert "abc" not in reason  # the reason names the field, never the value (PII)
    first = search.profile(settings, "auth0|user1")
    assert first is not None and first.get("sentiment") is None
    assert first["counters"]["logins"] == 2  # both logins of the bad finding's batch counted
    second = search.profile(settings, "auth0|user2")
    assert second is not None and second["sentiment"]["score"] == -0.4


def test_a_blocked_cluster_holds_the_batch_without_spending_attempts(
    settings: Settings, tmp_path
) -> None:
    """Elasticsearch answers 429 per item under a write block (as at its disk flood stage): the
    events are healthy, so they wait (no attempt counted, nothing parked) until it lifts."""
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    publish_events([envelope(type="auth.signup", user=user(1))], tmp_path)
    with running(settings):
        eventually(lambda: search.count_events(settings) == 1, message="the data stream exists")
    block = {"index.blocks.read_only_allow_delete": True}
    with search.client(settings) as es:
        es.indices.put_settings(index=names.events_stream, settings=block)
    try:
        publish_events([envelope(type="auth.login", user=user(n)) for n in (2, 3)], tmp_path)
        with running(settings):
            retried = {"stage": "index", "outcome": "retry"}
            before = sample("authstream_messages_total", **retried)
            overloaded = {"stage": "index", "reason": "overloaded"}
            items_before = sample("authstream_bulk_item_failures_total", **overloaded)
            eventually(
                lambda: sample("authstream_dependency_down", stage="index") == 1,
                message="the batch held",
            )
            assert sample("authstream_messages_total", **retried) == before
            assert broker.message_count(settings, names.retry_queue("index", 200)) == 0
            assert sample("authstream_bulk_item_failures_total", **overloaded) >= items_before + 2
            with search.client(settings) as es:
                es.indices.put_settings(
                    index=names.events_stream,
                    settings={"index.blocks.read_only_allow_delete": None},
                )
            eventually(lambda: search.count_events(settings) == 3, timeout=30)
    finally:
        with search.client(settings) as es:
            es.indices.put_settings(
                index=names.events_stream, settings={"index.blocks.read_only_allow_delete": None}
            )
    assert broker.message_count(settings, names.parking_lot("index")) == 0


def test_a_whole_request_refusal_is_narrowed_to_the_event_that_caused_it(
    settings: Settings,
) -> None:
    """An id Elasticsearch refuses fails the whole bulk request; only that event may park.

    The contract keeps such ids out (at most 255 bytes), so the event is built past validation,
    as a publisher bug or an older authstream could have let one through."""
    assert main(["setup"]) == 0
    good = [Event.model_validate(envelope(type="auth.login", user=user(n))) for n in range(6)]
    bad = good[0].model_copy(update={"event_id": "é" * 300, "user": good[3].user})
    batch = [good[0], good[1], bad, good[2], good[3], good[4], good[5]]

    async def index() -> list[str]:
        async with elastic.connect(settings) as es:
            stage = CATALOG["index"].build(StageContext(es, settings, ()))
            handled = await stage.handle(batch)
            return [o.kind for o in handled.outcomes]

    assert asyncio.run(index()) == ["done", "done", "park", "done", "done", "done", "done"]
    assert search.count_events(settings) == 6
    profile = search.profile(settings, "auth0|user3")
    assert profile is not None and profile["counters"] == {"logins": 1}
