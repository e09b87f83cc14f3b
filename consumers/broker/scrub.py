"""Removing one user's messages from queues that hold copies: retry queues and parking lots.

RabbitMQ cannot delete a message in the middle of a queue, so a scrub takes every message that is
in the queue now, puts back (confirmed) those of other users, and acks them all; the user's
copies are acked without being put back. Messages arriving meanwhile are left alone (only the
count present at the start is taken). Order within the queue changes for the messages put back,
which retry queues and parking lots do not rely on.
"""

from collections.abc import Iterable

import aio_pika
import orjson
from aio_pika.abc import AbstractConnection

from consumers.broker.admin import exists

MAX_SCANNED = 100_000  # per queue: an erasure must end, even behind a huge parking lot


def _user_of(body: bytes) -> str | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    user = document.get("user") if isinstance(document, dict) else None
    user_id = user.get("user_id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) else None


async def scrub(connection: AbstractConnection, queues: Iterable[str], user_id: str) -> int:
    """Remove ``user_id``'s messages from these queues (missing queues are skipped); how many."""
    removed = 0
    for name in queues:
        if not await exists(connection, "queue", name):
            continue  # the stage is off: it has no queues
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(name, passive=True)
        present = min(queue.declaration_result.message_count or 0, MAX_SCANNED)
        for _ in range(present):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if _user_of(message.body) != user_id:
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        body=message.body,
                        headers=message.headers,
                        content_type=message.content_type,
                        content_encoding=message.content_encoding,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=message.message_id,
                        timestamp=message.timestamp,
                        type=message.type,
                    ),
                    routing_key=name,
                )
            else:
                removed += 1
            await message.ack()
        await channel.close()
    return removed
