"""The RabbitMQ topology, as data, and its idempotent declaration.

Two topic exchanges: ``authstream.events`` (raw events from publishers, and the stages' findings)
and ``authstream.derived`` (what the index stage derives for the other stages). Per enabled stage
a durable work queue bound to what it consumes, delayed retry queues (TTL, then dead-lettered back
onto the work queue) and a parking lot. A work queue dead-letters into its parking lot, so a
message past the broker's delivery limit is kept too. A stage that is not enabled gets no queue:
nothing is bound that nothing consumes.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractConnection

from consumers.broker.admin import exists
from consumers.core.names import Names
from consumers.core.settings import Settings

Action = Literal["created", "unchanged"]
ExchangeRole = Literal["events", "derived"]


@dataclass(frozen=True)
class Binding:
    """What a stage consumes: a routing key on one of the two exchanges."""

    exchange: ExchangeRole
    routing_key: str


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any]
    bindings: tuple[tuple[str, str], ...] = ()  # (exchange name, routing key)


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: Action


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[str, ...]
    queues: tuple[QueueSpec, ...] = field(default_factory=tuple)

    def bindings(self) -> set[tuple[str, str, str]]:
        """Every (exchange, queue, routing key) this topology binds."""
        return {(x, q.name, key) for q in self.queues for x, key in q.bindings}


def exchange_name(names: Names, role: ExchangeRole) -> str:
    return names.exchange if role == "events" else names.derived_exchange


def _dead_letter_to(queue: str, queue_type: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue}
    if queue_type == "quorum":
        # At-least-once dead-lettering: the broker keeps a message until its new queue confirms it.
        arguments |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    return arguments


def build_topology(settings: Settings, stages: Mapping[str, Sequence[Binding]]) -> Topology:
    """The exchanges, and the queues of exactly these stages (name → what it consumes)."""
    names = Names(settings.name_prefix)
    kind = {"x-queue-type": settings.queue_type}
    queues: list[QueueSpec] = []
    for stage, bindings in stages.items():
        work = names.work_queue(stage)
        work_args = kind | _dead_letter_to(names.parking_lot(stage), settings.queue_type)
        if settings.queue_type == "quorum":
            work_args["x-delivery-limit"] = settings.delivery_limit
        routes = tuple((exchange_name(names, b.exchange), b.routing_key) for b in bindings)
        queues.append(QueueSpec(work, work_args, routes))
        for delay_ms in dict.fromkeys(settings.retry_delays_ms):
            retry_args = (
                kind | {"x-message-ttl": delay_ms} | _dead_letter_to(work, settings.queue_type)
            )
            queues.append(QueueSpec(names.retry_queue(stage, delay_ms), retry_args))
        queues.append(QueueSpec(names.parking_lot(stage), dict(kind)))
    return Topology(exchanges=(names.exchange, names.derived_exchange), queues=tuple(queues))


async def declare_topology(connection: AbstractConnection, topology: Topology) -> list[Change]:
    """Declare everything (idempotent); report what was created and what was already there.

    Declaring an existing entity with other arguments raises PRECONDITION_FAILED, which
    ``consumers.broker.admin.broker_errors`` turns into a TopologyConflict naming the difference.
    """
    changes: list[Change] = []
    channel = await connection.channel()
    exchanges = {}
    for name in topology.exchanges:
        existed = await exists(connection, "exchange", name)
        exchanges[name] = await channel.declare_exchange(
            name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        changes.append(Change("exchange", name, "unchanged" if existed else "created"))
    for spec in topology.queues:
        existed = await exists(connection, "queue", spec.name)
        queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
        # Binding is idempotent; the broker cannot tell us whether a binding is new.
        for exchange, routing_key in spec.bindings:
            await queue.bind(exchanges[exchange], routing_key)
        changes.append(Change("queue", spec.name, "unchanged" if existed else "created"))
    await channel.close()
    return changes


async def delete_topology(connection: AbstractConnection, topology: Topology) -> None:
    """Remove every queue and the exchanges (tests and teardown only); missing ones are fine."""
    channel = await connection.channel()
    for spec in topology.queues:
        await channel.queue_delete(spec.name)
    for name in topology.exchanges:
        await channel.exchange_delete(name)
    await channel.close()
