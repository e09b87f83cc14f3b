"""The worker loop: the only code that touches broker messages.

It takes deliveries in micro-batches (by size or a short window), decodes them once, hands the
valid events to a stage, and then, for each message, decides in one place: ack, delayed retry, or
parking lot. The batch is acked (``multiple``) only after every effect is durable: Elasticsearch
acknowledged the writes and the broker confirmed every retry/parked copy. When a dependency is down
the worker holds its batch and backs off; prefetch bounds what it holds, so it stops taking
messages instead of parking them. On a lost connection it reconnects and starts afresh: delivery
tags belong to a channel, so nothing from the old one is ever acked on the new one.
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from consumers.broker import failures, link
from consumers.broker.link import ConfirmChannel, Consumer, Delivery
from consumers.broker.publisher import emitted_properties
from consumers.core.errors import (
    BrokerUnavailable,
    ConfigurationError,
    InvalidEvent,
    PublishRefused,
    RetryableError,
)
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline import metrics
from consumers.pipeline.decode import decode_event
from consumers.pipeline.outcome import Emit, Handled, Outcome, park, retry
from consumers.pipeline.retry import RetryLater, RetryPolicy
from schemas import Event

log = structlog.get_logger("authstream.worker")

MAX_BACKOFF_S = 30.0
IDLE_POLL_S = 0.25


class Stage(Protocol):
    """A stage gets a batch of validated events and says what became of each (``Handled``).
    It raises ``RetryableError`` when a dependency is down (the worker holds the batch) and
    ``ConfigurationError`` when it cannot work at all (the process stops); it never acks."""

    name: str

    async def handle(self, events: list[Event]) -> Handled: ...


# A stage may also have ``periodic: Sequence[Periodic]`` (``pipeline.schedule``): jobs the process
# runs beside the queue, and ``async aclose()``: called when the process stops.


@dataclass
class Backoff:
    first_s: float = 0.5
    limit_s: float = MAX_BACKOFF_S
    current: float = 0.0

    def next(self) -> float:
        self.current = self.first_s if not self.current else min(self.current * 2, self.limit_s)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


class Stopping(Exception):
    """Raised inside a batch when shutdown is requested while the batch cannot finish."""


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early on stop; True when stop was requested."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


class Worker:
    def __init__(self, settings: Settings, stage: Stage) -> None:
        self.settings = settings
        self.stage = stage
        self.names = Names(settings.name_prefix)
        self.queue = self.names.work_queue(stage.name)
        self.policy = RetryPolicy.from_settings(settings)  # where a failed message goes next
        self.processed = 0
        self.consuming = False  # read by the readiness probe (pipeline.health)
        metrics.start_stage(stage.name)

    async def ready(self) -> str | None:
        """A readiness check: None while this worker consumes from its queue."""
        return None if self.consuming else f"not consuming from {self.queue} (no broker session)"

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting whenever the broker goes away."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                await self._session(stop, backoff)
            except (BrokerUnavailable, PublishRefused) as exc:
                # Either way the batch was not acked: a new session gets it redelivered.
                metrics.RECONNECTS.labels(self.stage.name).inc()
                delay = backoff.next()
                log.warning(
                    "broker connection lost; reconnecting"
                    if isinstance(exc, BrokerUnavailable)
                    else "the broker refused a message; run `authstream setup`? reconnecting",
                    error=str(exc),
                    retry_in_s=delay,
                    queue=self.queue,
                )
                await sleep_unless(stop, delay)
        log.info("worker stopped", queue=self.queue, processed=self.processed)

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        connection = await link.open_connection(
            self.settings, name=f"authstream {self.stage.name} worker"
        )
        lost = asyncio.Event()
        connection.add_on_close_callback(lambda *_: lost.set())
        try:
            inbox: asyncio.Queue[Delivery] = asyncio.Queue()
            where = self.settings.amqp_url_redacted
            consumer = await link.consume(
                connection, self.queue, self.settings.prefetch, inbox.put_nowait, where
            )
            consumer.on_close(lost.set)
            publish = await link.confirm_channel(connection, where)
            log.info("consuming", queue=self.queue, prefetch=self.settings.prefetch)
            backoff.reset()
            self.consuming = True
            while not stop.is_set():
                batch = await self._collect(inbox, stop)
                if lost.is_set():
                    # Tags from this channel are void now: the broker redelivers the batch.
                    raise BrokerUnavailable("connection closed")
                if batch:
                    try:
                        await self._process(batch, consumer, publish, stop)
                    except Stopping:
                        break
            # Unprocessed deliveries go back to the queue when the channel closes.
            consumer.cancel()
        finally:
            self.consuming = False
            await link.close_connection(connection)

    async def _collect(
        self, inbox: "asyncio.Queue[Delivery]", stop: asyncio.Event
    ) -> list[Delivery]:
        try:
            first = await asyncio.wait_for(inbox.get(), IDLE_POLL_S)
        except TimeoutError:
            return []
        batch = [first]
        deadline = asyncio.get_running_loop().time() + self.settings.batch_window_ms / 1000
        while len(batch) < self.settings.batch_size:
            while not inbox.empty() and len(batch) < self.settings.batch_size:
                batch.append(inbox.get_nowait())
            remaining = deadline - asyncio.get_running_loop().time()
            if len(batch) >= self.settings.batch_size or remaining <= 0 or stop.is_set():
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _process(
        self,
        batch: list[Delivery],
        consumer: Consumer,
        publish: ConfirmChannel,
        stop: asyncio.Event,
    ) -> None:
        started = asyncio.get_running_loop().time()
        outcomes: list[Outcome | None] = [None] * len(batch)
        events: list[Event] = []
        positions: list[int] = []
        for position, message in enumerate(batch):
            try:
                events.append(decode_event(message.body, self.settings.max_event_bytes))
                positions.append(position)
            except InvalidEvent as exc:
                outcomes[position] = park(f"invalid event: {exc.reason}")
        emits: list[Emit] = []
        if events:
            handled = await self._handle(events, stop)
            for position, outcome in zip(positions, handled.outcomes, strict=True):
                outcomes[position] = outcome
            emits = handled.emits
        await self._settle(batch, outcomes, emits, publish)
        consumer.ack_through(batch[-1].delivery_tag)
        self.processed += len(batch)
        self._observe(outcomes, asyncio.get_running_loop().time() - started)
        self._observe_lag(events, [outcomes[p] for p in positions])

    def _observe(self, outcomes: Sequence[Outcome | None], seconds: float) -> None:
        stage = self.stage.name
        metrics.BATCH_SECONDS.labels(stage).observe(seconds)
        metrics.BATCH_SIZE.labels(stage).observe(len(outcomes))
        for kind in ("done", "retry", "park"):
            settled = sum(1 for o in outcomes if (o.kind if o else "done") == kind)
            if settled:
                metrics.MESSAGES.labels(stage, kind).inc(settled)

    def _observe_lag(self, events: list[Event], outcomes: Sequence[Outcome | None]) -> None:
        """End-to-end lag at ack: now - occurred_at of each event this stage completed."""
        now = time.time()
        lag = metrics.LAG.labels(self.stage.name)
        for event, outcome in zip(events, outcomes, strict=True):
            if (outcome is None or outcome.kind == "done") and (
                event.source not in metrics.BACKFILL_SOURCES
            ):
                lag.observe(max(0.0, now - event.occurred_at.timestamp()))

    async def _handle(self, events: list[Event], stop: asyncio.Event) -> Handled:
        """Run the stage; while a dependency is down, hold the batch and back off."""
        backoff = Backoff()
        down = metrics.DEPENDENCY_DOWN.labels(self.stage.name)
        while True:
            try:
                handled = await self.stage.handle(events)
                down.set(0)
                return handled
            except RetryableError as exc:
                down.set(1)
                delay = backoff.next()
                log.warning(
                    "dependency unavailable; holding batch",
                    error=str(exc),
                    batch=len(events),
                    retry_in_s=delay,
                    stage=self.stage.name,
                )
                if await sleep_unless(stop, delay):
                    raise Stopping from None
            except ConfigurationError:
                raise  # retrying cannot fix settings or credentials: stop, say why
            except Exception as exc:  # a bug must not stop the stream: retry, then park
                log.exception("stage failed", stage=self.stage.name, batch=len(events))
                if len(events) > 1:
                    return await self._handle_halves(events, stop)
                return Handled([retry(f"internal error: {type(exc).__name__}: {exc}")])

    async def _handle_halves(self, events: list[Event], stop: asyncio.Event) -> Handled:
        """A batch the stage failed on, in two halves down to the event it fails on: only that
        one goes to the retry queue (and on to the parking lot), not the batch around it.
        Stages are idempotent (a redelivery changes nothing), so handling again is safe."""
        middle = len(events) // 2
        first = await self._handle(events[:middle], stop)
        second = await self._handle(events[middle:], stop)
        return Handled(first.outcomes + second.outcomes, first.emits + second.emits)

    async def _settle(
        self,
        batch: list[Delivery],
        outcomes: Sequence[Outcome | None],
        emits: list[Emit],
        publish: ConfirmChannel,
    ) -> None:
        """Send what the stage emitted, retries and parked copies; every one must be confirmed
        before the batch is acked."""
        sends = [
            publish.publish(e.exchange, e.routing_key, e.body, emitted_properties(e)) for e in emits
        ]
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome is None or outcome.kind == "done":
                continue
            properties = message.properties
            route = self.policy.route(outcome.kind, failures.attempts_of(properties))
            if isinstance(route, RetryLater):
                target = self.names.retry_queue(self.stage.name, route.delay_ms)
            else:
                target = self.names.parking_lot(self.stage.name)
                log.warning(
                    "parked",
                    reason=outcome.reason,
                    attempts=route.attempts,
                    message_id=properties.message_id,
                    stage=self.stage.name,
                )
            copy = failures.with_failure(
                properties,
                stage=self.stage.name,
                reason=outcome.reason,
                attempts=route.attempts,
                routing_key=failures.original_routing_key(properties, message.routing_key),
            )
            sends.append(publish.publish("", target, message.body, copy))
        for confirmation in await asyncio.gather(*sends, return_exceptions=True):
            if isinstance(confirmation, PublishRefused):
                # Unroutable: a stage's queue is missing (setup not run for the enabled stages).
                raise PublishRefused(f"the broker refused a message: {confirmation}")
            if isinstance(confirmation, BaseException):
                raise BrokerUnavailable(f"the broker did not confirm a message: {confirmation}")
