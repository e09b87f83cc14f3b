"""Derived events: deterministic, kept with the profile write, republished after a crash."""

import asyncio
from collections.abc import Iterator

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import Handled
from consumers.stages.catalog import CATALOG, StageContext, enabled_stages
from consumers.stages.derived import derived_id
from consumers.store import elastic
from schemas import Event
from tests import broker, search
from tests.helpers import envelope, eventually, publish_events
from tests.metrics import sample
from tests.standins.fullcontact import FullContactStandIn
from tests.workers import running


@pytest.fixture
def fullcontact(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FullContactStandIn]:  # the enrich stage on, so the index stage derives its work
    with FullContactStandIn("fc-key-derived") as standin:
        monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_API_KEY", "fc-key-derived")
        monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_BASE_URL", standin.base_url)
        yield standin


def _index_twice(settings: Settings, events: list[Event]) -> tuple[Handled, Handled]:
    """The index stage handles a batch, 'crashes' before publishing, and gets it redelivered."""

    async def scenario() -> tuple[Handled, Handled]:
        async with elastic.connect(settings) as es:
            context = StageContext(es, settings, tuple(enabled_stages(settings)))
            stage = CATALOG["index"].build(context)
            first = await stage.handle(events)
            return first, await stage.handle(events)

    return asyncio.run(scenario())


def test_a_redelivered_batch_republishes_the_same_derived_events_and_counts_nothing_twice(
    fullcontact: FullContactStandIn,
) -> None:
    settings = Settings()
    assert main(["setup"]) == 0
    signup = Event.model_validate(
        envelope(type="auth.signup", user={"user_id": "auth0|d1", "email": "D1@Example.com"})
    )
    first, again = _index_twice(settings, [signup])
    # The enrich stage's work request (the segments stage also gets a profile.changed).
    [request] = [e for e in first.emits if e.routing_key.startswith("enrich.requested")]
    assert request.routing_key == "enrich.requested.fullcontact"
    assert request.message_id == derived_id(signup.event_id, "enrich.requested")
    assert orjson.loads(request.body)["data"] == {
        "provider": "fullcontact",
        "email": "d1@example.com",
        "email_hash": orjson.loads(request.body)["data"]["email_hash"],
    }
    # The write was durable, the publication lost: the redelivery finds the events already
    # folded, writes nothing, and hands back the very same derived event from the outbox.
    assert again.emits == first.emits
    profile = search.profile(settings, "auth0|d1")
    assert profile is not None and profile["counters"] == {"signups": 1}
    assert profile["version"] == 1


def test_connections_cut_between_writes_and_acks_lose_no_work_request_and_ask_no_email_twice(
    fullcontact: FullContactStandIn, tmp_path
) -> None:
    settings = Settings()
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    emails = [f"user{n}@example.com" for n in range(120)]
    for n, email in enumerate(emails):
        fullcontact.add_person(email, f"User {n}")
    signups = [
        envelope(type="auth.signup", user={"user_id": f"auth0|c{n}", "email": email})
        for n, email in enumerate(emails)
    ]
    publish_events(signups, tmp_path)
    small = settings.model_copy(update={"batch_size": 10})
    before = sample("authstream_broker_reconnects_total", stage="index")
    with running(small, ("index", "enrich")):
        for _ in range(3):  # cut the index worker's connection three times mid-stream
            eventually(
                lambda: broker.cut_connections(
                    settings, "authstream index worker", names.work_queue("index")
                ),
                timeout=30,
            )
        eventually(
            lambda: sample("authstream_broker_reconnects_total", stage="index") >= before + 3,
            message="three reconnects",
        )
        eventually(
            lambda: all(
                ((search.profile(settings, f"auth0|c{n}") or {}).get("enrichment") or {})
                for n in range(len(emails))
            ),
            timeout=120,
            message="every user enriched",
        )
    assert all(fullcontact.calls_for(email) == 1 for email in emails)
    assert broker.message_count(settings, names.parking_lot("index")) == 0
    assert broker.message_count(settings, names.parking_lot("enrich")) == 0
    for n in (0, 59, 119):
        profile = search.profile(settings, f"auth0|c{n}")
        assert profile is not None and profile["counters"] == {"signups": 1}
