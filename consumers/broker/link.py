"""RabbitMQ on pika's asyncio adapter: the per-message paths (publishing, the worker loop).

Every event passes here at least twice, so the client's cost per message sets the pipeline's
pace. pika marshals a message in a few Python calls and writes it without a task, a lock or a
future per frame; measured on the bench machine, a confirmed publish costs about a seventh of the
CPU it costs through aiormq, and the broker spends less per message too because the messages reach
it at a higher rate (BENCHMARKS.md). Declaring topology and the parking-lot tools stay on aio-pika,
where convenience matters more than microseconds.

pika answers through callbacks; the helpers below turn them into awaitables with a deadline, and
turn pika's exceptions into the authstream error tree (``consumers.errors``).

``ConfirmChannel.publish`` returns a future per message that settles on the broker's answer:
ack → done, nack or an unroutable return → ``PublishRefused``, a lost channel →
``BrokerUnavailable``. Nothing is retried here; the caller decides what an unconfirmed message
means.
"""

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.channel import Channel
from pika.frame import Method
from pika.spec import Basic, BasicProperties

from consumers.core.errors import BrokerUnavailable, ConfigurationError, PublishRefused
from consumers.core.settings import Settings, redact_url

CONNECT_TIMEOUT_S = 10.0
# A broker under a memory or disk alarm blocks publishers; give up on it after this long.
BLOCKED_TIMEOUT_S = 60.0
# What pika raises when a channel or connection is already gone.
LINK_ERRORS = (pika.exceptions.AMQPError, OSError)


def credentials_rejected(where: str) -> ConfigurationError:
    return ConfigurationError(
        f"RabbitMQ at {where} rejected the credentials (check AUTHSTREAM_AMQP_URL)"
    )


def unreachable(where: str, exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(f"RabbitMQ at {where} is unreachable: {type(exc).__name__}")


def vhost_of(url: str) -> str:
    """The virtual host an AMQP URL names: its path, decoded; no path is ``/``."""
    return unquote(urlsplit(url).path[1:]) or "/"


def vhost_refused(where: str, vhost: str) -> ConfigurationError:
    return ConfigurationError(
        f"RabbitMQ at {where} refused access to the virtual host {vhost!r}: it does not exist "
        "or the user has no permissions on it (the path of AUTHSTREAM_AMQP_URL names it; "
        "'/' is written %2F, and an empty path means '/')"
    )


def topology_missing(text: str) -> ConfigurationError:
    """A queue or exchange authstream needs is not there ("NOT_FOUND - no queue 'x' ...")."""
    missing = text.removeprefix("NOT_FOUND - ")
    return ConfigurationError(f"{missing}: run `authstream setup` first")


def _opening_error(exc: BaseException, where: str, vhost: str) -> Exception:
    if isinstance(
        exc, (pika.exceptions.ProbableAuthenticationError, pika.exceptions.AuthenticationError)
    ):
        return credentials_rejected(where)
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
        return vhost_refused(where, vhost)
    return unreachable(where, exc)


def _resolve(future: "asyncio.Future[Any]", value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _answer(register: Callable[[Callable[..., None]], Any], what: str) -> Any:
    """Run a pika call that answers through a callback, as an awaitable with a deadline."""
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    try:
        register(lambda *answer: _resolve(done, answer))
        return await asyncio.wait_for(done, CONNECT_TIMEOUT_S)
    except (TimeoutError, *LINK_ERRORS) as exc:
        raise BrokerUnavailable(f"RabbitMQ did not answer ({what}): {type(exc).__name__}") from None


class ConfirmChannel:
    """A channel in confirm mode; ``publish`` is cheap and never awaits."""

    def __init__(self, channel: Channel, where: str) -> None:
        self._channel = channel
        self._where = where
        self._next_tag = 1
        # delivery tag → (future, message id); insertion order is tag order.
        self._pending: dict[int, tuple[asyncio.Future[None], str | None]] = {}
        self._returned: dict[str | None, str] = {}  # message id → why it came back
        self._lost: str | None = None
        self.closed = asyncio.Event()  # set once the channel is gone, for whoever must know
        channel.add_on_return_callback(self._on_return)
        channel.add_on_close_callback(self._on_channel_closed)

    @property
    def is_open(self) -> bool:
        return self._lost is None and self._channel.is_open

    def publish(
        self, exchange: str, routing_key: str, body: bytes, properties: BasicProperties
    ) -> "asyncio.Future[None]":
        """Send one mandatory message; the future settles on the broker's answer."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.is_open:
            future.set_exception(BrokerUnavailable(self._lost or "the channel is closed"))
            return future
        try:
            self._channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        except LINK_ERRORS as exc:
            future.set_exception(BrokerUnavailable(f"publish failed: {type(exc).__name__}"))
            return future
        self._pending[self._next_tag] = (future, properties.message_id)
        self._next_tag += 1
        return future

    def _on_return(
        self, channel: Channel, method: Basic.Return, properties: BasicProperties, body: bytes
    ) -> None:
        # RabbitMQ sends basic.return before the ack of the same message; the ack settles it.
        self._returned[properties.message_id] = (
            f"no queue is bound for routing key '{method.routing_key}'"
        )

    def _on_confirm(self, frame: Method) -> None:
        answer = frame.method
        tag = answer.delivery_tag
        if answer.multiple:
            tags = []
            for pending_tag in self._pending:
                if pending_tag > tag:
                    break
                tags.append(pending_tag)
        else:
            tags = [tag] if tag in self._pending else []
        nacked = isinstance(answer, Basic.Nack)
        for settled in tags:
            future, message_id = self._pending.pop(settled)
            returned = self._returned.pop(message_id, None) if self._returned else None
            if future.done():
                continue
            if nacked:
                future.set_exception(PublishRefused("the broker refused it (nack)"))
            elif returned is not None:
                future.set_exception(PublishRefused(returned))
            else:
                future.set_result(None)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        self._lost = f"lost the broker at {self._where}: {reason.__class__.__name__}"
        self.closed.set()
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(BrokerUnavailable(self._lost))


def nodes_in_turn(urls: list[str]) -> list[str]:
    """A cluster's URLs from a random one on, wrapping around: each process tries every node,
    and a cluster's connections spread over its nodes instead of all landing on the first."""
    start = random.randrange(len(urls))
    return urls[start:] + urls[:start]


async def open_connection(settings: Settings, name: str) -> AsyncioConnection:
    """An open connection named ``name`` to the broker, or to the first node of a cluster that
    answers (``AUTHSTREAM_AMQP_URL`` lists them); BrokerUnavailable or ConfigurationError if
    none does. Rejected credentials stop the search: every node has the same users."""
    failures: list[BrokerUnavailable] = []
    for url in nodes_in_turn(settings.amqp_urls()):
        try:
            return await _open_one(url, name)
        except BrokerUnavailable as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    raise BrokerUnavailable(
        f"no RabbitMQ node answered ({len(failures)} tried): " + "; ".join(map(str, failures))
    )


async def _open_one(url: str, name: str) -> AsyncioConnection:
    where = redact_url(url)
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[AsyncioConnection] = loop.create_future()
    parameters = pika.URLParameters(url)
    parameters.client_properties = {"connection_name": name}
    parameters.connection_attempts = 1
    parameters.socket_timeout = CONNECT_TIMEOUT_S
    parameters.stack_timeout = CONNECT_TIMEOUT_S
    parameters.blocked_connection_timeout = BLOCKED_TIMEOUT_S

    def on_open(connection: Any) -> None:
        _resolve(opened, connection)

    def on_open_error(connection: Any, exc: BaseException) -> None:
        if not opened.done():
            opened.set_exception(_opening_error(exc, where, parameters.virtual_host))

    AsyncioConnection(
        parameters,
        on_open_callback=on_open,
        on_open_error_callback=on_open_error,
        custom_ioloop=loop,
    )
    return await opened


async def close_connection(connection: AsyncioConnection) -> None:
    if connection.is_closed or connection.is_closing:
        return
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    connection.add_on_close_callback(lambda *_: _resolve(closed, None))
    connection.close()
    # A broker that does not answer the close loses the socket anyway.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closed, CONNECT_TIMEOUT_S)


async def open_channel(connection: AsyncioConnection) -> Channel:
    answer = await _answer(lambda cb: connection.channel(on_open_callback=cb), "channel.open")
    channel: Channel = answer[0]
    return channel


async def confirm_mode(channel: Channel, where: str) -> "ConfirmChannel":
    confirming = ConfirmChannel(channel, where)
    await _answer(
        lambda cb: channel.confirm_delivery(confirming._on_confirm, callback=cb), "confirm.select"
    )
    return confirming


async def _answer_unless_closed(
    channel: Channel, register: Callable[[Callable[..., None]], Any], what: str, where: str
) -> Any:
    """Like ``_answer``, for a call the broker may refuse by closing the channel (a missing queue
    or exchange, no permission): the refusal becomes an error that says what to do."""
    closed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
    channel.add_on_close_callback(lambda _, reason: _resolve(closed, reason))
    answered = asyncio.ensure_future(_answer(register, what))
    await asyncio.wait([answered, closed], return_when=asyncio.FIRST_COMPLETED)
    if answered.done():
        return answered.result()
    answered.cancel()
    reason = closed.result()
    code = getattr(reason, "reply_code", None)
    text = getattr(reason, "reply_text", "") or str(reason)
    if code == 404:
        raise topology_missing(text)
    if code == 403:
        raise ConfigurationError(f"RabbitMQ at {where} refused access: {text}")
    raise BrokerUnavailable(f"RabbitMQ at {where} closed the channel: {text}")


async def confirm_channel(connection: AsyncioConnection, where: str) -> ConfirmChannel:
    """A new channel on ``connection``, in confirm mode."""
    return await confirm_mode(await open_channel(connection), where)


@asynccontextmanager
async def open_confirm_channel(
    settings: Settings, *, name: str, exchange: str
) -> AsyncIterator[ConfirmChannel]:
    """A confirm channel on a connection of its own, after checking that ``exchange`` exists."""
    where = settings.amqp_url_redacted
    connection = await open_connection(settings, name)
    try:
        channel = await open_channel(connection)
        await _answer_unless_closed(
            channel,
            lambda cb: channel.exchange_declare(exchange, passive=True, callback=cb),
            "exchange.declare",
            where,
        )
        yield await confirm_mode(channel, where)
    finally:
        await close_connection(connection)


@dataclass(frozen=True)
class Delivery:
    body: bytes
    properties: BasicProperties
    delivery_tag: int
    routing_key: str


class Consumer:
    """A queue consumed with manual acks: the worker's only handle on its deliveries."""

    def __init__(self, channel: Channel, tag: str) -> None:
        self._channel = channel
        self._tag = tag

    @property
    def is_open(self) -> bool:
        return bool(self._channel.is_open)

    def on_close(self, callback: Callable[[], None]) -> None:
        self._channel.add_on_close_callback(lambda *_: callback())

    def ack_through(self, delivery_tag: int) -> None:
        """Ack every delivery up to and including ``delivery_tag``."""
        try:
            self._channel.basic_ack(delivery_tag, multiple=True)
        except LINK_ERRORS as exc:  # the channel went away under us: the broker redelivers
            raise BrokerUnavailable(f"could not ack: {type(exc).__name__}") from None

    def cancel(self) -> None:
        """Stop deliveries; what was delivered and not acked goes back when the channel closes."""
        if self._channel.is_open:
            with contextlib.suppress(*LINK_ERRORS):
                self._channel.basic_cancel(self._tag)


async def consume(
    connection: AsyncioConnection,
    queue: str,
    prefetch: int,
    deliver: Callable[[Delivery], None],
    where: str,
) -> Consumer:
    """Consume ``queue`` with manual acks, at most ``prefetch`` unacked."""
    channel = await open_channel(connection)
    await _answer(lambda cb: channel.basic_qos(prefetch_count=prefetch, callback=cb), "basic.qos")

    def on_message(
        _: Channel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        deliver(Delivery(body, properties, method.delivery_tag, method.routing_key or ""))

    tags: list[str] = []
    await _answer_unless_closed(
        channel,
        lambda cb: tags.append(channel.basic_consume(queue, on_message, callback=cb)),
        "basic.consume",
        where,
    )
    return Consumer(channel, tags[0])
