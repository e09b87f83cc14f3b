"""``authstream ingest``: the HTTP endpoint for Auth0 Log Streams (custom webhook), and for a
shop's behaviour events (``consumers.ingest.collector``, ``POST /v1/events``).

Auth0 delivers each batch at least once and retries when the answer is not 2xx, so the answer is
2xx only once the broker has confirmed every event of the request; on any doubt it is 503 and
Auth0 sends the batch again (harmless: ``event_id`` is the ``log_id``). Every record becomes an
event (``ingest.auth0_logs``); one that cannot (no log id, no type) is skipped and listed in the
answer, never retried forever.
"""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiohttp import web

from consumers.auth0 import default_tenant, history_only_families
from consumers.broker.link import ConfirmChannel
from consumers.broker.publisher import open_events_channel, publish_event
from consumers.core.errors import (
    AuthstreamError,
    BrokerUnavailable,
    ConfigurationError,
    InvalidEvent,
    PublishRefused,
)
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.ingest import collector
from consumers.ingest.auth0_logs import as_json, envelope_from
from consumers.ingest.guards import (
    authorized,
    concurrency_limit,
    read_body,
    required_token,
)
from consumers.pipeline import health, metrics
from consumers.pipeline.decode import decode_event
from schemas import Event

log = structlog.get_logger("authstream.ingest")
log_access = logging.getLogger("aiohttp.access")
PATH = "/auth0/logs"
MAX_SKIPPED_LISTED = 100


def parse_body(body: bytes) -> list[Any]:
    """Records from a JSONARRAY, JSONOBJECT or JSONLINES body; InvalidEvent when it is none."""
    try:
        document = orjson.loads(body)
        return document if isinstance(document, list) else [document]
    except orjson.JSONDecodeError:
        pass  # not one JSON document: JSON lines
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


@dataclass
class ReopeningChannel:
    """One confirm channel for the server's life, reopened on the next request after a failure."""

    settings: Settings
    channel: ConfirmChannel | None = None
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> ConfirmChannel:
        async with self.lock:
            if self.channel is None or not self.channel.is_open:
                await self.drop()
                self.channel = await self.stack.enter_async_context(
                    open_events_channel(self.settings, name="authstream ingest")
                )
            return self.channel

    async def drop(self) -> None:
        self.channel = None
        stack, self.stack = self.stack, AsyncExitStack()
        with contextlib.suppress(Exception):  # it is already broken; we only free it
            await stack.aclose()


async def publish_all(
    outbound: ReopeningChannel, events: list[tuple[Event, bytes]], settings: Settings
) -> None:
    """Publish every event and wait for every confirm; BrokerUnavailable if any is not confirmed."""
    channel = await outbound.get()
    exchange = Names(settings.name_prefix).exchange
    # Every answer is collected, so no failed confirm is left unread when one fails.
    answers = await asyncio.gather(
        *(publish_event(channel, exchange, event, body) for event, body in events),
        return_exceptions=True,
    )
    failures = [answer for answer in answers if isinstance(answer, BaseException)]
    if not failures:
        return
    if not channel.is_open:
        await outbound.drop()
    first = failures[0]
    if isinstance(first, PublishRefused):
        raise BrokerUnavailable(f"the broker did not take an event: {first}")
    raise BrokerUnavailable(f"lost the broker while publishing: {first}")


@web.middleware
async def count_answers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every answer to Auth0 by status: 401s and 503s are what pause a Log Stream."""
    if request.path != PATH:
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # 413 from aiohttp's size limit, among others
        metrics.INGEST_REQUESTS.labels(str(exc.status)).inc()
        raise
    metrics.INGEST_REQUESTS.labels(str(response.status)).inc()
    return response


def build_app(settings: Settings, probes: health.Health | None = None) -> web.Application:
    """The webhook app; ``probes`` (the metrics port's /healthz and /readyz) learns whether the
    broker takes events, and the app keeps its heartbeat."""
    secret = (
        settings.ingest_token.get_secret_value().strip() if settings.ingest_token else ""
    ) or None
    # The Log Stream webhook needs its token unless the app serves only the shop collector.
    log_stream = secret is not None or settings.collect_keys is None
    token = required_token(secret, "AUTHSTREAM_INGEST_TOKEN") if log_stream else ""
    tenant = default_tenant(settings)  # for records that name no tenant (custom domains)
    history_only = history_only_families(settings)
    outbound = ReopeningChannel(settings)

    async def receive(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            return web.json_response({"error": "bad or missing Authorization token"}, status=401)
        body = await read_body(request, settings.ingest_body_timeout_s)
        if isinstance(body, web.Response):
            return body
        try:
            records = parse_body(body)
        except InvalidEvent as exc:
            return web.json_response({"error": exc.reason}, status=400)
        events: list[tuple[Event, bytes]] = []
        skipped: list[dict[str, Any]] = []
        for position, record in enumerate(records):
            try:
                body = as_json(envelope_from(record, tenant, history_only))
                # The same contract as every other way in.
                events.append((decode_event(body, settings.max_event_bytes), body))
            except InvalidEvent as exc:
                skipped.append({"record": position, "reason": exc.reason})
        if skipped:
            log.warning("log records skipped", skipped=len(skipped), first=skipped[0]["reason"])
            metrics.INGEST_EVENTS.labels("skipped").inc(len(skipped))
        try:
            if events:
                await publish_all(outbound, events, settings)
        except AuthstreamError as exc:  # broker down, or not set up: Auth0 retries the batch
            log.warning("events not published; Auth0 will retry", error=str(exc))
            return web.json_response({"error": "broker unavailable, retry later"}, status=503)
        metrics.INGEST_EVENTS.labels("published").inc(len(events))
        return web.json_response(
            {
                "published": len(events),
                "skipped_count": len(skipped),
                "skipped": skipped[:MAX_SKIPPED_LISTED],  # the count says how many were left out
            }
        )

    async def healthz(request: web.Request) -> web.Response:
        try:
            await outbound.get()
        except AuthstreamError:
            return web.json_response({"status": "broker unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def broker_takes_events() -> str | None:
        try:
            await outbound.get()
        except AuthstreamError as exc:
            return str(exc)
        return None

    async def close(app: web.Application) -> None:
        await outbound.drop()

    async def watched(app: web.Application) -> AsyncIterator[None]:
        if probes is None:
            yield
            return
        stop = asyncio.Event()
        probes.add("rabbitmq", broker_takes_events)
        watching = asyncio.create_task(probes.watch(stop))
        yield
        stop.set()
        await watching

    metrics.start_ingest()
    # Bodies above the limit are answered 413 by aiohttp before they are read into memory.
    app = web.Application(
        client_max_size=settings.ingest_max_bytes,
        middlewares=[count_answers, concurrency_limit(settings.ingest_max_concurrent)],
    )
    if log_stream:
        app.router.add_post(PATH, receive)
    if settings.collect_keys is not None:  # the shop's behaviour events, POST /v1/events
        collector.register(app, settings, lambda events: publish_all(outbound, events, settings))
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(watched)
    app.on_cleanup.append(close)
    return app


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ConfigurationError naming both when it cannot be had
    (in use, an address this machine does not have, a name that does not resolve)."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
    except (OSError, OverflowError) as exc:
        raise ConfigurationError(f"cannot listen on {where}: {_why(exc)}") from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except (OSError, OverflowError) as exc:
        listener.close()
        raise ConfigurationError(f"cannot listen on {where}: {_why(exc)}") from None
    return listener


def _why(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def serve(settings: Settings, host: str, port: int) -> None:
    listener = bound_socket(host, port)  # before anything says "listening"
    probes = health.Health()
    try:  # a missing token or a metrics port in use stops us here: the port is given back
        app = build_app(settings, probes)
        health.serve(settings, probes)  # /metrics, /healthz, /readyz on AUTHSTREAM_METRICS_PORT
    except BaseException:
        listener.close()
        raise
    paths = sorted({r.resource.canonical for r in app.router.routes() if r.resource} - {"/healthz"})
    log.info("ingest listening", url=f"http://{host}:{port}", paths=paths)
    web.run_app(
        app,
        sock=listener,
        print=None,
        handle_signals=True,
        access_log=log_access,
        # Closes a connection that has not completed a request in time: slow headers included.
        keepalive_timeout=settings.ingest_header_timeout_s,
    )
