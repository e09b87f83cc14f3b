"""``authstream publish``: validate JSON lines of envelopes and publish them with confirms.

Many messages are in flight at once (``AUTHSTREAM_PUBLISH_WINDOW``), each waiting for its broker
confirm; a line counts as published only once confirmed. Invalid lines are reported with their
line number and skipped; they never stop the rest of the file.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from pika.spec import BasicProperties

from consumers.broker.link import ConfirmChannel, open_confirm_channel
from consumers.core.errors import InvalidEvent
from consumers.core.names import Names
from consumers.core.progress import Progress
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.pipeline.outcome import Emit
from schemas import SCHEMA_ID, Event

READ_CHUNK = 1 << 16


ErrorSink = Callable[[int, str], None]
"""Called with (line number, reason) as soon as a line is found invalid."""


@dataclass(frozen=True)
class Line:
    number: int
    body: bytes
    size: int  # the whole line's size, even when body was cut short


@dataclass
class PublishReport:
    published: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[Line]:
    """Yield non-blank lines; a line over ``max_bytes`` is measured but never held in memory."""
    number = 0
    while True:
        chunk = stream.readline(max_bytes + 1)
        if not chunk:
            return
        number += 1
        size = len(chunk)
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            # Oversized: skip the rest of the line, counting it, without keeping it.
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(READ_CHUNK)
                size += len(chunk)
            yield Line(number, b"", size)
            continue
        body = chunk.strip()
        if body:
            yield Line(number, body, size)


def properties_for(event: Event) -> BasicProperties:
    return BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,  # persistent
        message_id=event.event_id,
        type=event.type,
        headers={"authstream-schema": SCHEMA_ID, "authstream-source": event.source or "unknown"},
    )


def emitted_properties(emit: Emit) -> BasicProperties:
    """Properties of a message a stage emits (derived events, findings), like ``properties_for``."""
    return BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=emit.message_id,
        type=emit.type,
        headers={"authstream-schema": SCHEMA_ID, "authstream-source": "authstream"},
    )


def publish_event(
    channel: ConfirmChannel, exchange: str, event: Event, body: bytes
) -> "asyncio.Future[None]":
    """Publish one event; the future settles on the broker's confirm (PublishRefused if not)."""
    return channel.publish(exchange, event.type, body, properties_for(event))


class Publisher:
    """Publishes validated events with a bounded window of unconfirmed messages.

    A message costs one future and a callback, no task: on the path of every event, that is
    measurable (BENCHMARKS.md).
    """

    def __init__(self, channel: ConfirmChannel, exchange: str, window: int) -> None:
        self.channel = channel
        self.exchange = exchange
        self.window = asyncio.Semaphore(window)
        self.in_flight: set[asyncio.Future[None]] = set()
        self.report = PublishReport()

    async def publish(self, number: int, event: Event, body: bytes) -> None:
        await self.window.acquire()
        settled = publish_event(self.channel, self.exchange, event, body)
        self.in_flight.add(settled)
        settled.add_done_callback(lambda future: self._settled(number, future))

    def _settled(self, number: int, future: "asyncio.Future[None]") -> None:
        self.in_flight.discard(future)
        self.window.release()
        if (exc := future.exception()) is None:
            self.report.published += 1
        else:  # PublishRefused or BrokerUnavailable, both say why
            self.report.failures.append((number, f"not published: {exc}"))

    async def drain(self) -> None:
        # Loop: the report is updated by done-callbacks, which run after the futures settle.
        while self.in_flight:
            await asyncio.gather(*self.in_flight, return_exceptions=True)


@asynccontextmanager
async def open_events_channel(settings: Settings, *, name: str) -> AsyncIterator[ConfirmChannel]:
    """A confirm channel on a connection of its own, after checking the exchange exists."""
    async with open_confirm_channel(
        settings, name=name, exchange=Names(settings.name_prefix).exchange
    ) as channel:
        yield channel


@asynccontextmanager
async def open_publisher(
    settings: Settings, name: str = "authstream publish"
) -> AsyncIterator[Publisher]:
    """A publisher on the events exchange, on a connection called ``name``; leaving the block
    waits for every confirm."""
    async with open_events_channel(settings, name=name) as channel:
        publisher = Publisher(
            channel, Names(settings.name_prefix).exchange, settings.publish_window
        )
        yield publisher
        await publisher.drain()


async def publish_stream(
    stream: BinaryIO,
    settings: Settings,
    *,
    total_bytes: int | None = None,
    on_error: ErrorSink | None = None,
) -> PublishReport:
    progress = Progress("publishing", total_bytes)
    async with open_publisher(settings) as publisher:
        done_bytes = 0
        for line in read_lines(stream, settings.max_event_bytes):
            done_bytes += line.size
            try:
                if not line.body:
                    raise InvalidEvent(
                        f"line is {line.size:,} bytes, over the {settings.max_event_bytes:,}"
                        "-byte limit (AUTHSTREAM_MAX_EVENT_BYTES)"
                    )
                event = decode_event(line.body, settings.max_event_bytes)
            except InvalidEvent as exc:
                publisher.report.failures.append((line.number, exc.reason))
                if on_error is not None:
                    on_error(line.number, exc.reason)
                continue
            await publisher.publish(line.number, event, line.body)
            progress.update(done_bytes, publisher.report.published, len(publisher.report.failures))
        await publisher.drain()
        progress.update(
            done_bytes, publisher.report.published, len(publisher.report.failures), force=True
        )
        progress.close()
    publisher.report.failures.sort()
    return publisher.report
