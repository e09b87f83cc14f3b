"""The RabbitMQ topology, as data, and its idempotent declaration.

One topic exchange; per stage a durable work queue bound to the event types it needs, delayed retry
queues (TTL, then dead-lettered back onto the work queue) and a parking lot. A work queue
dead-letters into its parking lot, so a message past the broker's delivery limit is kept too.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractConnection

from consumers.broker.admin import exists
from consumers.core.names import STAGES, Names
from consumers.core.settings import Settings

# Which event types each stage consumes (routing keys are event types).
STAGE_ROUTES: dict[str, tuple[str, ...]] = {
    "index": ("#",),
    "enrich": ("auth.signup", "auth.login", "user.updated"),
    "sentiment": ("auth.signup", "auth.login", "profile.enriched"),
    "segments": ("auth.#", "user.#", "behavior.#", "profile.#"),
}
assert set(STAGE_ROUTES) == set(STAGES)

Action = Literal["created", "unchanged"]


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any]
    routing_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: Action


@dataclass(frozen=True)
class Topology:
    exchange: str
    queues: tuple[QueueSpec, ...] = field(default_factory=tuple)


def _dead_letter_to(queue: str, queue_type: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue}
    if queue_type == "quorum":
        # At-least-once dead-lettering: the broker keeps a message until its new queue confirms it.
        arguments |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    return arguments


def build_topology(settings: Settings) -> Topology:
    names = Names(settings.name_prefix)
    kind = {"x-queue-type": settings.queue_type}
    queues: list[QueueSpec] = []
    for stage in STAGES:
        work = names.work_queue(stage)
        work_args = kind | _dead_letter_to(names.parking_lot(stage), settings.queue_type)
        if settings.queue_type == "quorum":
            work_args["x-delivery-limit"] = settings.delivery_limit
        queues.append(QueueSpec(work, work_args, STAGE_ROUTES[stage]))
        for delay_ms in dict.fromkeys(settings.retry_delays_ms):
            retry_args = (
                kind | {"x-message-ttl": delay_ms} | _dead_letter_to(work, settings.queue_type)
            )
            queues.append(QueueSpec(names.retry_queue(stage, delay_ms), retry_args))
        queues.append(QueueSpec(names.parking_lot(stage), dict(kind)))
    return Topology(exchange=names.exchange, queues=tuple(queues))


async def declare_topology(connection: AbstractConnection, topology: Topology) -> list[Change]:
    """Declare everything (idempotent); report what was created and what was already there.

    Declaring an existing entity with other arguments raises PRECONDITION_FAILED, which
    ``consumers.broker.admin.broker_errors`` turns into a TopologyConflict naming the difference.
    """
    changes: list[Change] = []
    existed = await exists(connection, "exchange", topology.exchange)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    changes.append(Change("exchange", topology.exchange, "unchanged" if existed else "created"))
    for spec in topology.queues:
        existed = await exists(connection, "queue", spec.name)
        queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
        # Binding is idempotent; the broker cannot tell us whether a binding is new.
        for routing_key in spec.routing_keys:
            await queue.bind(exchange, routing_key)
        changes.append(Change("queue", spec.name, "unchanged" if existed else "created"))
    await channel.close()
    return changes


async def delete_topology(connection: AbstractConnection, topology: Topology) -> None:
    """Remove every queue and the exchange (tests and `authstream` teardown only)."""
    channel = await connection.channel()
    for spec in topology.queues:
        await channel.queue_delete(spec.name)
    await channel.exchange_delete(topology.exchange)
    await channel.close()
