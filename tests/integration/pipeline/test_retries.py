"""Where a message goes when its stage does not finish it, through the real broker: the delayed
retry queues one after the other, then the parking lot with the reason and the attempt count; a
stage that crashes takes the same road; conflicts that never end are retried, not lost; and the
broker's own delivery limit parks what a consumer keeps dying on, with a reason `dlq list` shows."""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pika
import pytest

from consumers.broker import parking_lot
from consumers.broker.failures import ATTEMPTS, ERROR, ROUTING_KEY, STAGE
from consumers.cli.main import main
from consumers.cli.setup import remove_everything
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import DONE, Handled, retry
from consumers.stages.catalog import CATALOG, StageContext
from consumers.stages.index import CONFLICT_ROUNDS
from consumers.store import elastic
from schemas import Event
from tests import broker, search
from tests.helpers import dumps, envelope, eventually, publish_events
from tests.metrics import sample
from tests.workers import running, running_stage

DELAYS_MS = (1_000, 2_000)


@pytest.fixture
def retrying(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Three attempts, 1 s then 2 s apart: long enough to see each message in each queue."""
    monkeypatch.setenv("AUTHSTREAM_RETRY_DELAYS_MS", ",".join(map(str, DELAYS_MS)))
    monkeypatch.setenv("AUTHSTREAM_MAX_ATTEMPTS", "3")
    assert main(["setup"]) == 0
    retrying = Settings()
    yield retrying
    # The settings fixture removes the default delays' queues; these delays made their own.
    asyncio.run(remove_everything(retrying))


@dataclass
class FailingStage:
    """Says of every event: try again later (a dependency answering nonsense), or crashes."""

    crash: bool = False
    name: str = "index"
    calls: list[float] = field(default_factory=list)

    async def handle(self, events: list[Event]) -> Handled:
        self.calls.append(time.monotonic())
        if self.crash:
            raise RuntimeError("the stage fell over")
        return Handled([retry("the dependency answered nonsense")] * len(events))


def parked_copies(settings: Settings) -> list[tuple[Any, bytes]]:
    taken = broker.drain(settings, Names(settings.name_prefix).parking_lot("index"))
    return [(properties, body) for _, properties, body in taken]


def test_a_failing_stage_s_message_goes_retry_retry_parked_with_reason_and_attempts(
    retrying: Settings, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    names = Names(retrying.name_prefix)
    event = envelope(type="auth.login")
    publish_events([event], tmp_path)
    stage = FailingStage()
    with running_stage(retrying, stage):
        for attempt, delay_ms in enumerate(DELAYS_MS, start=1):
            eventually(lambda a=attempt: len(stage.calls) >= a, message=f"attempt {attempt}")
            waiting_in = names.retry_queue("index", delay_ms)
            eventually(
                lambda q=waiting_in: broker.message_count(retrying, q) == 1, message=waiting_in
            )
        parked = names.parking_lot("index")
        eventually(lambda: broker.message_count(retrying, parked) == 1, message="parked")
    assert len(stage.calls) == 3
    gaps = [later - earlier for earlier, later in zip(stage.calls, stage.calls[1:], strict=False)]
    assert gaps[0] >= DELAYS_MS[0] / 1000 and gaps[1] >= DELAYS_MS[1] / 1000, gaps
    assert gaps[0] < gaps[1] < 15, gaps  # each delay waited, the longer one second
    capsys.readouterr()
    assert main(["dlq", "list"]) == 0
    listed = capsys.readouterr().out
    assert event["event_id"] in listed and "the dependency answered nonsense" in listed
    [(properties, body)] = parked_copies(retrying)
    assert body == dumps(event) and properties.message_id == event["event_id"]
    headers = properties.headers
    assert (headers[ATTEMPTS], headers[ERROR]) == (3, "the dependency answered nonsense")
    assert (headers[STAGE], headers[ROUTING_KEY]) == ("index", "auth.login")
    for delay_ms in DELAYS_MS:
        assert broker.message_count(retrying, names.retry_queue("index", delay_ms)) == 0
    assert broker.drained(retrying, names.work_queue("index"))


def test_a_stage_crash_is_retried_then_parked_with_the_error(
    retrying: Settings, tmp_path: Any
) -> None:
    names = Names(retrying.name_prefix)
    publish_events([envelope(type="auth.login")], tmp_path)
    stage = FailingStage(crash=True)
    with running_stage(retrying, stage):
        eventually(
            lambda: broker.message_count(retrying, names.parking_lot("index")) == 1,
            timeout=30,
            message="parked after the last attempt",
        )
    assert len(stage.calls) == 3  # the crash was retried, not parked at once, and not looped
    [(properties, _)] = parked_copies(retrying)
    assert properties.headers[ATTEMPTS] == 3
    assert properties.headers[ERROR] == "internal error: RuntimeError: the stage fell over"
    assert broker.drained(retrying, names.work_queue("index"))


@dataclass
class CrashingOn:
    """Crashes on any batch that holds one given event (a bug that one input triggers)."""

    poison: str
    name: str = "index"
    done: list[str] = field(default_factory=list)

    async def handle(self, events: list[Event]) -> Handled:
        if any(e.event_id == self.poison for e in events):
            raise RuntimeError("the stage fell over")
        self.done += [e.event_id for e in events]
        return Handled([DONE] * len(events))


def test_a_crash_on_one_event_sends_that_event_alone_to_the_retry_queues(
    retrying: Settings, tmp_path: Any
) -> None:
    """The batch around it is handled again in halves: its neighbours are done at once."""
    names = Names(retrying.name_prefix)
    events = [envelope(type="auth.login") for _ in range(9)]
    poison = events[4]["event_id"]
    publish_events(events, tmp_path)
    stage = CrashingOn(poison)
    with running_stage(retrying, stage):
        eventually(
            lambda: broker.message_count(retrying, names.parking_lot("index")) == 1,
            timeout=30,
            message="the poison parked after its attempts",
        )
    assert sorted(stage.done) == sorted(e["event_id"] for e in events if e["event_id"] != poison)
    [(properties, _)] = parked_copies(retrying)
    assert properties.message_id == poison
    assert properties.headers[ATTEMPTS] == 3
    assert broker.drained(retrying, names.work_queue("index"))


class RacingWriter:
    """The real Elasticsearch client, except that right after each read of profiles another
    writer saves them again (as a second worker would), for the first ``rounds`` reads: every
    conditional write of the index stage in those rounds loses the race."""

    def __init__(self, es: Any, rounds: int) -> None:
        self._es, self.rounds, self.reads = es, rounds, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._es, name)

    async def mget(self, **kwargs: Any) -> Any:
        found = await self._es.mget(**kwargs)
        self.reads += 1
        if self.reads <= self.rounds:
            for doc in found["docs"]:
                if doc.get("found"):
                    await self._es.index(
                        index=kwargs["index"], id=doc["_id"], document=doc["_source"]
                    )
        return found


def test_conflict_rounds_running_out_retry_the_event_and_it_counts_once_later(
    retrying: Settings, tmp_path: Any
) -> None:
    names = Names(retrying.name_prefix)
    user = {"user_id": "auth0|racer", "email": "racer@example.com"}
    first = envelope(type="auth.login", occurred_at="2026-03-01T08:00:00Z", user=user)
    second = envelope(type="auth.login", occurred_at="2026-03-02T08:00:00Z", user=user)
    conflicts = {"stage": "index", "reason": "conflict"}
    before = sample("authstream_bulk_item_failures_total", **conflicts)

    async def racing_index() -> tuple[list[str], int]:
        async with elastic.connect(retrying) as es:
            stage = CATALOG["index"].build(StageContext(es, retrying, ()))
            await stage.handle([Event.model_validate(first)])  # the profile exists now
            racer = RacingWriter(es, rounds=CONFLICT_ROUNDS)
            racing = CATALOG["index"].build(StageContext(racer, retrying, ()))  # type: ignore[arg-type]
            handled = await racing.handle([Event.model_validate(second)])
            return [f"{o.kind}: {o.reason}" for o in handled.outcomes], racer.reads

    outcomes, reads = asyncio.run(racing_index())
    assert outcomes == ["retry: profile kept changing under us (write conflicts)"]
    assert reads == CONFLICT_ROUNDS  # every round read again and lost again, then gave up
    assert sample("authstream_bulk_item_failures_total", **conflicts) == before + CONFLICT_ROUNDS
    # The retry (the race over): the event counts once, though it was tried five times.
    publish_events([second], tmp_path)
    with running(retrying):
        eventually(
            lambda: (
                (search.profile(retrying, "auth0|racer") or {}).get("counters") == {"logins": 2}
            ),
            message="the second login counted once",
        )
    assert broker.drained(retrying, names.work_queue("index"))
    assert broker.message_count(retrying, names.parking_lot("index")) == 0


def test_the_broker_parks_what_a_consumer_keeps_dying_on_and_dlq_list_says_why(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_DELIVERY_LIMIT", "2")
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    event = envelope(type="auth.login")
    with broker.channel(settings) as channel:
        channel.confirm_delivery()
        channel.basic_publish(
            names.exchange,
            "auth.login",
            dumps(event),
            pika.BasicProperties(message_id=event["event_id"], delivery_mode=2),
        )
    deliveries = 0
    while broker.message_count(settings, names.parking_lot("index")) == 0:
        # A consumer that takes the message and dies before acking it: its connection goes,
        # and the broker delivers the message again, counting.
        with broker.channel(settings) as channel:
            method, _, _ = channel.basic_get(names.work_queue("index"), auto_ack=False)
        if method is not None:
            deliveries += 1
        assert deliveries <= 10, "the delivery limit never parked the message"
    assert deliveries == 3  # the first delivery and two redeliveries: the limit is 2
    capsys.readouterr()
    assert main(["dlq", "list"]) == 0
    listed = capsys.readouterr().out
    assert event["event_id"] in listed
    assert "redelivered more than AUTHSTREAM_DELIVERY_LIMIT (2) times" in listed
    limited = Settings()  # AUTHSTREAM_DELIVERY_LIMIT=2, as setup declared the queue
    [parked], total = asyncio.run(parking_lot.list_parked(limited, "index", 5))
    assert (total, parked.attempts, parked.event_id) == (1, 3, event["event_id"])
    assert parked.failed_at.startswith("20")  # when the broker parked it (x-death)
    assert broker.drained(settings, names.work_queue("index"))
