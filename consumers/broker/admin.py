"""aio-pika connections (topology, parking-lot tools), with their exceptions translated once, here.

The per-message paths (publishing, the worker loop) use pika instead: ``consumers.broker_link``.
"""

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Literal

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractConnection
from pydantic import SecretStr

from consumers.broker.link import (
    CONNECT_TIMEOUT_S,
    credentials_rejected,
    nodes_in_turn,
    topology_missing,
    unreachable,
    vhost_of,
    vhost_refused,
)
from consumers.core.errors import BrokerUnavailable, ConfigurationError, TopologyConflict
from consumers.core.settings import Settings

_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<arg>[^']+)' for (?P<kind>queue|exchange) '(?P<name>[^']+)'.*?"
    r"received (?P<received>.+?) but current is (?P<current>.+?)\"?\)?$"
)


def describe_precondition_failure(text: str) -> str:
    """Turn RabbitMQ's PRECONDITION_FAILED text into one sentence an operator can act on."""
    match = _INEQUIVALENT.search(text)
    if not match:
        return f"RabbitMQ refused a declaration: {text}"
    return (
        f"{match['kind']} '{match['name']}' already exists with a different '{match['arg']}': "
        f"authstream wants {match['received']}, the broker has {match['current']}. "
        f"Delete the {match['kind']} (after draining it) or change the settings to match it "
        f"(e.g. AUTHSTREAM_QUEUE_TYPE)."
    )


@contextmanager
def broker_errors(settings: Settings) -> Iterator[None]:
    """Translate client exceptions into the authstream error tree, without leaking the password."""
    where = settings.amqp_url_redacted
    try:
        yield
    except aiormq.exceptions.ChannelPreconditionFailed as exc:
        raise TopologyConflict(describe_precondition_failure(str(exc))) from None
    except aiormq.exceptions.ChannelNotFoundEntity as exc:  # a queue or exchange setup makes
        raise topology_missing(exc.args[0] if exc.args else str(exc)) from None
    except aiormq.exceptions.ChannelAccessRefused as exc:
        raise ConfigurationError(f"RabbitMQ at {where} refused access: {exc}") from None
    except aiormq.exceptions.ProbableAuthenticationError:
        raise credentials_rejected(where) from None
    except aiormq.exceptions.InvalidFrameError as exc:
        # The broker closed the connection instead of opening it: the virtual host does not
        # exist or the user may not use it (aiormq has no exception of its own for this).
        if "Connection.OpenOk" not in str(exc):
            raise unreachable(where, exc) from None
        raise vhost_refused(where, vhost_of(settings.amqp_url.get_secret_value())) from None
    except (TimeoutError, aiormq.exceptions.AMQPConnectionError, ConnectionError, OSError) as exc:
        raise unreachable(where, exc) from None


async def exists(
    connection: AbstractConnection, kind: Literal["exchange", "queue"], name: str
) -> bool:
    """Whether an exchange or queue exists (a passive declare, on a channel of its own: the
    broker closes the channel when the answer is no)."""
    channel = await connection.channel()
    try:
        if kind == "exchange":
            await channel.declare_exchange(name, passive=True)
        else:
            await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return False
    finally:
        if not channel.is_closed:
            await channel.close()
    return True


async def queue_load(connection: AbstractConnection, name: str) -> tuple[int, int]:
    """Messages ready in a queue and its consumers, as the broker counts them now."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(name, passive=True)
        result = declared.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)
    finally:
        if not channel.is_closed:
            await channel.close()


@asynccontextmanager
async def connect(
    settings: Settings, *, name: str = "authstream"
) -> AsyncIterator[AbstractConnection]:
    """An open connection for the duration of the block, to the first node that answers."""
    urls = nodes_in_turn(settings.amqp_urls())
    for number, url in enumerate(urls, 1):
        try:
            with broker_errors(settings.model_copy(update={"amqp_url": SecretStr(url)})):
                connection = await aio_pika.connect(
                    url, timeout=CONNECT_TIMEOUT_S, client_properties={"connection_name": name}
                )
            break
        except BrokerUnavailable:
            if number == len(urls):
                raise
    try:
        yield connection
    finally:
        await connection.close()
