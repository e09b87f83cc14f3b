"""The parking lot, for operators: see why messages are there, put them back, or throw them away.

Listing does not consume: it takes messages unacknowledged and closes the channel, which returns
every one of them to the queue. Replay publishes to the stage's own work queue (through the
default exchange, so the other stages do not see the event a second time), waits for the
broker's confirm, and only then acks the parked copy: a crash in between leaves a duplicate,
which the indexer's exactly-once effect absorbs, never a loss.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from consumers.broker import admin
from consumers.broker.failures import ATTEMPTS, BROKER_DEATH_HEADERS, ERROR, FAILED_AT, parked_info
from consumers.core.names import Names
from consumers.core.settings import Settings

REPLAYED = "x-authstream-replayed"
# Headers describing the last failure; a replayed message starts with a clean slate.
_FAILURE_HEADERS = BROKER_DEATH_HEADERS | {ATTEMPTS, ERROR, FAILED_AT}


@dataclass(frozen=True)
class ParkedMessage:
    event_id: str
    event_type: str
    user_id: str
    reason: str
    attempts: int
    failed_at: str


def _describe_body(body: bytes) -> tuple[str, str]:
    """Event type and user id when the body is an envelope; '-' for what cannot be read."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "-", "-"
    if not isinstance(document, dict):
        return "-", "-"
    user = document.get("user")
    user_id = user.get("user_id") if isinstance(user, dict) else None
    event_type = document.get("type")
    return (
        event_type if isinstance(event_type, str) else "-",
        user_id if isinstance(user_id, str) else "-",
    )


def describe(message: AbstractIncomingMessage, delivery_limit: int | None = None) -> ParkedMessage:
    info = parked_info(message.properties, message.routing_key or "", delivery_limit)
    event_type, user_id = _describe_body(message.body)
    return ParkedMessage(
        event_id=message.message_id or "-",
        event_type=event_type,
        user_id=user_id,
        reason=info.reason,
        attempts=info.attempts,
        failed_at=info.failed_at,
    )


@asynccontextmanager
async def _parking_lot(
    settings: Settings, stage: str
) -> AsyncIterator[tuple[AbstractChannel, AbstractQueue]]:
    async with admin.connect(settings, name=f"authstream dlq {stage}") as connection:
        with admin.broker_errors(settings):
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(
                Names(settings.name_prefix).parking_lot(stage), passive=True
            )
            yield channel, queue


async def count(settings: Settings, stage: str) -> int:
    async with _parking_lot(settings, stage) as (_, queue):
        return queue.declaration_result.message_count or 0


async def list_parked(
    settings: Settings, stage: str, limit: int
) -> tuple[list[ParkedMessage], int]:
    """Up to ``limit`` parked messages (oldest first) and how many are parked in all."""
    async with _parking_lot(settings, stage) as (channel, queue):
        total = queue.declaration_result.message_count or 0
        seen: list[ParkedMessage] = []
        with admin.broker_errors(settings):
            while len(seen) < limit:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                seen.append(describe(message, settings.delivery_limit))
            # Closing without acking returns every message we looked at, in order.
            await channel.close()
        return seen, total


def _replayable(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _FAILURE_HEADERS}
    replayed = headers.get(REPLAYED, 0)
    headers[REPLAYED] = (replayed if isinstance(replayed, int) else 0) + 1
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
    )


async def replay(settings: Settings, stage: str, limit: int | None) -> int:
    """Move parked messages back onto the stage's work queue; returns how many moved."""
    work_queue = Names(settings.name_prefix).work_queue(stage)
    moved = 0
    async with _parking_lot(settings, stage) as (channel, queue):
        with admin.broker_errors(settings):
            # Only what is parked now: messages parked again while we replay wait for next time.
            todo = queue.declaration_result.message_count or 0
            if limit is not None:
                todo = min(todo, limit)
            while moved < todo:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                await channel.default_exchange.publish(
                    _replayable(message), routing_key=work_queue, mandatory=True
                )
                await message.ack()
                moved += 1
    return moved


async def purge(settings: Settings, stage: str) -> int:
    async with _parking_lot(settings, stage) as (_, queue):
        with admin.broker_errors(settings):
            result = await queue.purge()
            return int(result.message_count or 0)


def format_table(parked: list[ParkedMessage], total: int, queue: str) -> str:
    if not total:
        return f"{queue}: empty"
    rows = [("EVENT ID", "TYPE", "USER ID", "ATTEMPTS", "FAILED AT", "REASON")]
    rows += [
        (p.event_id, p.event_type, p.user_id, str(p.attempts), p.failed_at[:19] or "-", one_line)
        for p in parked
        for one_line in [" ".join(p.reason.split())]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        + "  "
        + row[5]
        for row in rows
    ]
    more = f" (showing the first {len(parked):,})" if len(parked) < total else ""
    return f"{queue}: {total:,} parked message(s){more}\n" + "\n".join(lines)
