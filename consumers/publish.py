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

import aiormq
import aiormq.exceptions
from aiormq.abc import AbstractChannel
from pamqp.commands import Basic

from consumers import amqp
from consumers.errors import ConfigurationError, InvalidEvent
from consumers.events import decode_event
from consumers.names import Names
from consumers.progress import Progress
from consumers.settings import Settings
from schemas import SCHEMA_ID, Event

READ_CHUNK = 1 << 16


class PublishRefused(Exception):
    """The broker did not take an event (returned as unroutable, or nacked)."""


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


def properties_for(event: Event) -> Basic.Properties:
    return Basic.Properties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,  # persistent
        message_id=event.event_id,
        message_type=event.type,
        headers={"authstream-schema": SCHEMA_ID, "authstream-source": event.source or "unknown"},
    )


async def confirm(channel: AbstractChannel, exchange: str, event: Event, body: bytes) -> None:
    """Publish one event and wait for the broker's confirm; PublishRefused says why not."""
    try:
        confirmation = await channel.basic_publish(
            body,
            exchange=exchange,
            routing_key=event.type,
            properties=properties_for(event),
            mandatory=True,
        )
    except aiormq.exceptions.PublishError:
        raise PublishRefused(f"no queue is bound for event type '{event.type}'") from None
    if not isinstance(confirmation, Basic.Ack):
        raise PublishRefused("the broker refused it (nack)")


class Publisher:
    """Publishes validated events with a bounded window of unconfirmed messages.

    It speaks aiormq directly: aio-pika's message objects cost more CPU per event than the
    validation does, and publishing is on the path of every event (measured in BENCHMARKS.md).
    """

    def __init__(self, channel: AbstractChannel, exchange: str, window: int) -> None:
        self.channel = channel
        self.exchange = exchange
        self.window = asyncio.Semaphore(window)
        self.pending: set[asyncio.Task[None]] = set()
        self.report = PublishReport()

    async def publish(self, number: int, event: Event, body: bytes) -> None:
        await self.window.acquire()
        task = asyncio.create_task(self._publish_one(number, event, body))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _publish_one(self, number: int, event: Event, body: bytes) -> None:
        try:
            await confirm(self.channel, self.exchange, event, body)
            self.report.published += 1
        except PublishRefused as exc:
            self.report.failures.append((number, f"not published: {exc}"))
        except (aiormq.exceptions.AMQPError, ConnectionError) as exc:
            self.report.failures.append((number, f"not published: {type(exc).__name__}"))
        finally:
            self.window.release()

    async def drain(self) -> None:
        if self.pending:
            await asyncio.gather(*self.pending)


@asynccontextmanager
async def open_channel(settings: Settings, *, name: str) -> AsyncIterator[AbstractChannel]:
    """A confirm channel on a connection of its own, after checking the exchange exists."""
    exchange = Names(settings.name_prefix).exchange
    with amqp.broker_errors(settings):
        connection = await amqp.connect_raw(settings, name=name)
    try:
        with amqp.broker_errors(settings):
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            try:
                await channel.exchange_declare(exchange, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                raise ConfigurationError(
                    f"exchange '{exchange}' does not exist: run `authstream setup` first"
                ) from None
        yield channel
    finally:
        await connection.close()


@asynccontextmanager
async def open_publisher(settings: Settings) -> AsyncIterator[Publisher]:
    """A publisher on the events exchange; leaving the block waits for every confirm."""
    async with open_channel(settings, name="authstream publish") as channel:
        publisher = Publisher(
            channel, Names(settings.name_prefix).exchange, settings.publish_window
        )
        yield publisher
        with amqp.broker_errors(settings):
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
