"""``authstream ingest``: the HTTP endpoint for Auth0 Log Streams (custom webhook).

Auth0 delivers each batch at least once and retries when the answer is not 2xx, so the answer is
2xx only once the broker has confirmed every event of the request; on any doubt it is 503 and
Auth0 sends the batch again (harmless: ``event_id`` is the ``log_id``). Records that can never
become events (no user, no log id) are skipped and listed in the answer, never retried forever.
"""

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import orjson
import structlog
from aio_pika.abc import AbstractConnection, AbstractExchange
from aiohttp import web

from consumers import amqp
from consumers.auth0_logs import envelope_from
from consumers.errors import BrokerUnavailable, ConfigurationError, InvalidEvent
from consumers.events import decode_event
from consumers.names import Names
from consumers.publish import message_for
from consumers.settings import Settings

log = structlog.get_logger("authstream.ingest")
PATH = "/auth0/logs"


def parse_body(body: bytes) -> list[Any]:
    """Records from a JSONARRAY, JSONOBJECT or JSONLINES body; InvalidEvent when it is none."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    else:
        return document if isinstance(document, list) else [document]
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(f"line {number} is not JSON: {exc}") from None
    if not records:
        raise InvalidEvent("the body holds no log records")
    return records


def authorized(header: str | None, token: str) -> bool:
    """Auth0 sends the configured token as is; accept it with or without ``Bearer ``."""
    if not header:
        return False
    presented = header.removeprefix("Bearer ").strip()
    return hmac.compare_digest(presented.encode(), token.encode())


@dataclass
class BrokerLink:
    """One connection for the server's life, reopened on the next request after a failure."""

    settings: Settings
    connection: AbstractConnection | None = None
    exchange: AbstractExchange | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> AbstractExchange:
        async with self.lock:
            if self.connection is None or self.connection.is_closed or self.exchange is None:
                await self.drop()
                with amqp.broker_errors(self.settings):
                    self.connection = await aio_pika.connect(
                        self.settings.amqp_url.get_secret_value(),
                        timeout=amqp.CONNECT_TIMEOUT_S,
                        client_properties={"connection_name": "authstream ingest"},
                    )
                    channel = await self.connection.channel(
                        publisher_confirms=True, on_return_raises=True
                    )
                    self.exchange = await channel.get_exchange(
                        Names(self.settings.name_prefix).exchange, ensure=True
                    )
            return self.exchange

    async def drop(self) -> None:
        connection, self.connection, self.exchange = self.connection, None, None
        if connection is not None and not connection.is_closed:
            await connection.close()


async def publish_all(link: BrokerLink, bodies: list[bytes], settings: Settings) -> None:
    """Publish every event and wait for every confirm; BrokerUnavailable if any is not confirmed."""
    exchange = await link.get()
    events = [decode_event(body, settings.max_event_bytes) for body in bodies]
    try:
        await asyncio.gather(
            *(
                exchange.publish(message_for(event, body), routing_key=event.type, mandatory=True)
                for event, body in zip(events, bodies, strict=True)
            )
        )
    except aio_pika.exceptions.DeliveryError as exc:
        raise BrokerUnavailable(f"the broker did not take an event: {exc}") from None
    except (aiormq.exceptions.AMQPError, ConnectionError, OSError) as exc:
        await link.drop()
        raise BrokerUnavailable(f"lost the broker while publishing: {type(exc).__name__}") from None


def build_app(settings: Settings) -> web.Application:
    if settings.ingest_token is None:
        raise ConfigurationError(
            "AUTHSTREAM_INGEST_TOKEN is not set: choose a long random token and give Auth0 the "
            "same value as the Log Stream's Authorization Token"
        )
    token = settings.ingest_token.get_secret_value()
    link = BrokerLink(settings)

    async def receive(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            return web.json_response({"error": "bad or missing Authorization token"}, status=401)
        try:
            records = parse_body(await request.read())
        except InvalidEvent as exc:
            return web.json_response({"error": exc.reason}, status=400)
        bodies, skipped = [], []
        for position, record in enumerate(records):
            try:
                envelope = envelope_from(record)
                body = orjson.dumps(envelope)
                decode_event(body, settings.max_event_bytes)  # the same contract as everywhere
                bodies.append(body)
            except InvalidEvent as exc:
                skipped.append({"record": position, "reason": exc.reason})
        if skipped:
            log.warning("log records skipped", skipped=len(skipped), first=skipped[0]["reason"])
        try:
            if bodies:
                await publish_all(link, bodies, settings)
        except BrokerUnavailable as exc:
            log.warning("broker unavailable; Auth0 will retry", error=str(exc))
            return web.json_response({"error": "broker unavailable, retry later"}, status=503)
        return web.json_response({"published": len(bodies), "skipped": skipped})

    async def healthz(request: web.Request) -> web.Response:
        try:
            await link.get()
        except BrokerUnavailable:
            return web.json_response({"status": "broker unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def close(app: web.Application) -> None:
        await link.drop()

    # Bodies above the limit are answered 413 by aiohttp before they are read into memory.
    app = web.Application(client_max_size=settings.ingest_max_bytes)
    app.router.add_post(PATH, receive)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(close)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    app = build_app(settings)
    log.info("ingest listening", url=f"http://{host}:{port}{PATH}")
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
