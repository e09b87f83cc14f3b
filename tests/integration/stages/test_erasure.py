"""Erasure reaches every copy: profile, events, cached enrichment, queued copies; audited."""

import asyncio
from collections.abc import Iterator

import pika
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.enrich import email_hash
from consumers.stages.catalog import CATALOG, StageContext
from consumers.stages.index import IndexStage
from consumers.store import elastic
from schemas import Event
from tests import broker, search
from tests.helpers import dumps, envelope, eventually, publish_events
from tests.standins.fullcontact import FullContactStandIn
from tests.workers import running


@pytest.fixture
def fullcontact(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FullContactStandIn]:
    with FullContactStandIn("fc-erasure-key") as standin:
        monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_API_KEY", "fc-erasure-key")
        monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_BASE_URL", standin.base_url)
        yield standin


def audit(settings: Settings, user_id: str) -> list[dict[str, object]]:
    with search.client(settings) as es:
        index = Names(settings.name_prefix).audit_index
        es.indices.refresh(index=index)
        found = es.search(index=index, query={"term": {"user_id": user_id}})
        return [hit["_source"] for hit in found["hits"]["hits"]]


def cached_answers(settings: Settings, email: str) -> int:
    with search.client(settings) as es:
        index = Names(settings.name_prefix).enrichment_cache
        es.indices.refresh(index=index)
        query = {"term": {"email_hash": email_hash(email)}}
        return int(es.count(index=index, query=query)["count"])


def erased(settings: Settings, user_id: str) -> bool:
    """Only a tombstone is left (searches through the alias do not even see that)."""
    stone = search.profile(settings, user_id) or {}
    personal = ("email", "name", "auth0", "enrichment", "interests", "outbox")
    return bool(stone.get("deleted_at")) and not any(stone.get(k) for k in personal)


def park_copy(settings: Settings, queue: str, event: dict[str, object]) -> None:
    with broker.channel(settings) as ch:
        ch.confirm_delivery()
        ch.basic_publish("", queue, dumps(event), pika.BasicProperties(delivery_mode=2))


def test_user_deleted_erases_every_copy_and_a_new_signup_starts_afresh(
    fullcontact: FullContactStandIn, tmp_path
) -> None:
    settings = Settings()
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    fullcontact.add_person("gone@example.com", "Gone Soon")
    user = {"user_id": "auth0|gone", "email": "gone@example.com"}
    publish_events(
        [
            envelope(type="auth.signup", occurred_at="2026-10-01T10:00:00Z", user=user),
            envelope(type="auth.login", occurred_at="2026-10-02T10:00:00Z", user=user),
            envelope(type="auth.signup", user={"user_id": "auth0|stays", "email": "s@example.com"}),
        ],
        tmp_path,
    )
    # Copies waiting in parking lots: the erased user's must go, the other user's must stay.
    park_copy(settings, names.parking_lot("index"), envelope(user=user))
    park_copy(settings, names.parking_lot("enrich"), envelope(type="enrich.requested", user=user))
    park_copy(settings, names.parking_lot("index"), envelope(user={"user_id": "auth0|stays"}))
    with running(settings, ("index", "enrich")):
        eventually(lambda: cached_answers(settings, "gone@example.com") == 1, timeout=60)
        publish_events(
            [envelope(type="user.deleted", occurred_at="2026-10-05T10:00:00Z", user=user)],
            tmp_path,
        )
        eventually(lambda: audit(settings, "auth0|gone"), message="the audit record")
        # A late login from before the erasure: stopped by the tombstone.
        publish_events(
            [envelope(type="auth.login", occurred_at="2026-10-03T10:00:00Z", user=user)], tmp_path
        )
        # The other user's signup is there, untouched (their enrichment finding may be too).
        stays = {"user.id": "auth0|stays", "event.action": "auth.signup"}
        eventually(lambda: search.count_events(settings, **stays) == 1, timeout=60)
    [record] = audit(settings, "auth0|gone")
    assert record["events"] == 2 and record["enrichment"] == 1 and record["queue_copies"] == 2
    assert record["profile"] is True and record["trigger"].startswith("user.deleted ")
    assert erased(settings, "auth0|gone")
    assert search.count_events(settings, **{"user.id": "auth0|gone"}) == 0
    assert cached_answers(settings, "gone@example.com") == 0
    [(_, _, left)] = broker.drain(settings, names.parking_lot("index"))
    assert b"auth0|stays" in left
    assert broker.message_count(settings, names.parking_lot("enrich")) == 0

    # A new signup after the erasure is a new customer: a fresh profile, nothing of the old one.
    publish_events(
        [envelope(type="auth.signup", occurred_at="2026-11-01T10:00:00Z", user=user)], tmp_path
    )
    with running(settings):
        eventually(
            lambda: (search.profile(settings, "auth0|gone") or {}).get("counters"),
            message="a new profile",
        )
    profile = search.profile(settings, "auth0|gone") or {}
    assert profile["counters"] == {"signups": 1}
    assert profile["first_seen"] == "2026-11-01T10:00:00Z"


def test_forget_erases_now_and_says_what_it_erased(
    settings: Settings, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup"]) == 0
    user = {"user_id": "auth0|forget-me", "email": "f@example.com"}
    publish_events([envelope(type="auth.signup", user=user)], tmp_path)
    with running(settings):
        eventually(lambda: search.profile(settings, "auth0|forget-me"))
    capsys.readouterr()
    assert main(["forget", "auth0|forget-me"]) == 0
    out = capsys.readouterr().out
    assert "erased auth0|forget-me: profile yes, 1 event(s), 0 cached" in out
    assert erased(settings, "auth0|forget-me")
    assert audit(settings, "auth0|forget-me")[0]["trigger"] == "authstream forget"
    assert main(["forget", "auth0|forget-me"]) == 0  # again: nothing left, still fine
    assert "profile none, 0 event(s)" in capsys.readouterr().out


def test_an_event_written_by_a_second_worker_in_the_same_moment_is_erased_too(
    settings: Settings,
) -> None:
    """Worker A reads the profile, worker B erases the user, A's bulk then writes an event doc
    (its profile write conflicts): A must remove that event doc when it sees the tombstone."""
    assert main(["setup"]) == 0
    user = {"user_id": "auth0|race", "email": "race@example.com"}
    signup = Event.model_validate(envelope(type="auth.signup", user=user))
    login = Event.model_validate(envelope(type="auth.login", user=user))
    delete = Event.model_validate(envelope(type="user.deleted", user=user))

    async def scenario() -> None:
        async with elastic.connect(settings) as es:
            context = StageContext(es, settings, ())
            worker_b = CATALOG["index"].build(context)
            await worker_b.handle([signup])

            class WorkerA(IndexStage):
                erased_meanwhile = False

                async def _current(self, user_ids):  # type: ignore[no-untyped-def]
                    found = await super()._current(user_ids)
                    if not WorkerA.erased_meanwhile:
                        WorkerA.erased_meanwhile = True
                        await worker_b.handle([delete])  # B erases between A's read and write
                    return found

            worker_a = WorkerA(es, settings, worker_b.taxonomy, (), worker_b.erasure_queues)
            await worker_a.handle([login])

    asyncio.run(scenario())
    assert search.count_events(settings, **{"user.id": "auth0|race"}) == 0
    assert erased(settings, "auth0|race")
