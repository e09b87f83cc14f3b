"""Queues and bindings under authstream's names that the current topology does not declare.

An earlier topology (every stage bound to every raw event), a stage turned off, or a changed list
of retry delays leaves queues that nothing consumes and that fill up unread. AMQP cannot list
queues, so ``authstream setup`` asks RabbitMQ's management API (default: the AMQP host, port
15672, the AMQP credentials) and reports what it finds; ``setup --prune`` removes it.
"""

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
from aio_pika.abc import AbstractConnection

from consumers.broker.admin import queue_load
from consumers.broker.topology import Topology
from consumers.core.errors import BrokerUnavailable, ConfigurationError
from consumers.core.names import Names
from consumers.core.settings import Settings, redact_url

MANAGEMENT_PORT = 15672
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Leftover:
    kind: str  # queue | binding
    name: str  # the queue, or "exchange → queue (routing key)"
    messages: int = 0
    consumers: int = 0
    # For bindings: what to unbind.
    exchange: str = ""
    queue: str = ""
    routing_key: str = ""


def management_api(settings: Settings) -> tuple[str, tuple[str, str], str]:
    """Base URL, credentials and vhost of the management API for this broker."""
    amqp = urlsplit(settings.amqp_urls()[0])
    vhost = amqp.path[1:] if len(amqp.path) > 1 else "/"
    credentials = (amqp.username or "guest", amqp.password or "guest")
    base = settings.rabbitmq_management_url or f"http://{amqp.hostname}:{MANAGEMENT_PORT}"
    return base.rstrip("/"), credentials, vhost


async def find_leftovers(
    settings: Settings, wanted: Topology, connection: AbstractConnection
) -> list[Leftover]:
    """What exists under this installation's names and is not part of ``wanted``. Message counts
    come from the broker itself (the management API's statistics lag by seconds)."""
    names = Names(settings.name_prefix)
    base, credentials, vhost = management_api(settings)
    where = redact_url(base)
    v = quote(vhost, safe="")
    try:
        async with httpx.AsyncClient(base_url=base, auth=credentials, timeout=TIMEOUT_S) as api:
            queues = (
                (await api.get(f"/api/queues/{v}", params={"columns": "name,messages,consumers"}))
                .raise_for_status()
                .json()
            )
            bound = []
            for exchange in wanted.exchanges:
                answer = await api.get(
                    f"/api/exchanges/{v}/{quote(exchange, safe='')}/bindings/source"
                )
                if answer.status_code != 404:
                    bound += answer.raise_for_status().json()
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (401, 403):
            raise ConfigurationError(
                f"RabbitMQ's management API at {where} refused the credentials: set "
                "AUTHSTREAM_RABBITMQ_MANAGEMENT_URL, or give the user the 'monitoring' tag"
            ) from None
        raise BrokerUnavailable(
            f"RabbitMQ's management API at {where} answered {exc.response.status_code}"
        ) from None
    except httpx.HTTPError as exc:
        raise BrokerUnavailable(
            f"RabbitMQ's management API at {where} is unreachable ({type(exc).__name__}); "
            "set AUTHSTREAM_RABBITMQ_MANAGEMENT_URL"
        ) from None
    declared = {q.name for q in wanted.queues}
    found = []
    for q in queues:
        if q["name"].startswith(names.base) and q["name"] not in declared:
            messages, consumers = await queue_load(connection, q["name"])
            found.append(Leftover("queue", q["name"], messages, consumers))
    wanted_bindings = wanted.bindings()
    found += [
        Leftover(
            "binding",
            f"{b['source']} → {b['destination']} ({b['routing_key']})",
            exchange=b["source"],
            queue=b["destination"],
            routing_key=b["routing_key"],
        )
        for b in bound
        if b.get("destination_type") == "queue"
        and b["destination"] in declared
        and (b["source"], b["destination"], b["routing_key"]) not in wanted_bindings
    ]
    return found


async def prune(connection: AbstractConnection, leftovers: list[Leftover]) -> None:
    """Unbind stale bindings and delete stale queues (with whatever they hold)."""
    channel = await connection.channel()
    for leftover in leftovers:
        if leftover.kind == "binding":
            queue = await channel.get_queue(leftover.queue, ensure=False)
            await queue.unbind(leftover.exchange, leftover.routing_key)
    for leftover in leftovers:
        if leftover.kind == "queue":
            await channel.queue_delete(leftover.name)
    await channel.close()
