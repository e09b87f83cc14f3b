"""``POST /v1/events``: a shop's behaviour events over HTTP, from browsers and servers.

A request is authenticated by a write key per source (``AUTHSTREAM_COLLECT_KEYS``, apart from
the Log Stream token): ``Authorization: Bearer <key>``, or ``{"write_key": ..., "events": [...]}``
for ``navigator.sendBeacon``, which cannot set headers (a key in the body, not in the URL, stays
out of access logs). A browser key is public by nature, as it sits in the page: the allowed
origins (CORS) keep other sites' pages from using it, and the rate limit bounds what anyone can
send with it. The answer is 2xx only once the broker confirmed every event; an event that cannot
become one is listed in the answer and the others go on.

Answers: 200 (accepted, maybe some rejected), 400 (no event valid), 401 (key), 403 (origin),
413 (too large or too many events), 429 (rate, with Retry-After), 503 (broker; send again).
"""

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiohttp import web

from consumers.auth0 import default_tenant
from consumers.core.errors import AuthstreamError, ConfigurationError, InvalidEvent
from consumers.core.settings import Settings, collect_sources
from consumers.ingest.guards import authorized, read_body
from consumers.ingest.shop_events import envelope_from_shop
from consumers.pipeline import metrics
from consumers.pipeline.decode import decode_event
from schemas import Event

log = structlog.get_logger("authstream.collector")
Publish = Callable[[list[tuple[Event, bytes]]], Awaitable[None]]
"""Publishes events and returns once the broker confirmed them all (raises otherwise)."""
PATH = "/v1/events"
MAX_REJECTED_LISTED = 100
PREFLIGHT_MAX_AGE_S = 600


@dataclass
class Bucket:
    """A token bucket: ``rate`` events per second, at most ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, count: int, now: float) -> float:
        """Take ``count`` tokens: 0.0 when granted, else the seconds until they would be."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if count <= self.tokens:
            self.tokens -= count
            return 0.0
        return (count - self.tokens) / self.rate


def _cors(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    if origin is None or origin not in allowed:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _answer(body: dict[str, Any], status: int, headers: dict[str, str]) -> web.Response:
    metrics.COLLECT_REQUESTS.labels(str(status)).inc()
    return web.json_response(body, status=status, headers=headers)


def parse_events(body: bytes) -> tuple[list[Any], str | None]:
    """The events of a body (a JSON array, one object, ``{"write_key", "events"}``, or JSON
    lines) and the write key it carries, if any."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
        lines = [line for line in body.splitlines() if line.strip()]
        try:
            events: list[Any] = [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError:
            raise InvalidEvent("the body is neither JSON nor JSON lines") from None
        return events, None
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        key = document.get("write_key")
        return document["events"], key if isinstance(key, str) else None
    return (document if isinstance(document, list) else [document]), None


@dataclass
class Collector:
    settings: Settings
    publish: Publish
    sources: dict[str, str] = field(init=False)  # write key -> source name
    origins: frozenset[str] = field(init=False)
    anonymous_only: frozenset[str] = field(init=False)  # sources that may not name a user
    tenant: str | None = field(init=False)
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = self.settings.collect_keys
        if keys is None:
            raise ConfigurationError("AUTHSTREAM_COLLECT_KEYS is not set")
        self.sources = collect_sources(keys.get_secret_value())
        self.origins = frozenset(self.settings.collect_origins)
        self.tenant = self.settings.collect_tenant or default_tenant(self.settings)
        chosen = {n.strip() for n in self.settings.collect_anonymous_only.split(",") if n.strip()}
        unknown = sorted(chosen - set(self.sources.values()))
        if unknown:
            raise ConfigurationError(
                "AUTHSTREAM_COLLECT_ANONYMOUS_ONLY names no source of the keys: "
                + ", ".join(unknown)
            )
        self.anonymous_only = frozenset(chosen)
        if self.settings.collect_burst < self.settings.collect_max_events:
            raise ConfigurationError(
                "AUTHSTREAM_COLLECT_BURST is below AUTHSTREAM_COLLECT_MAX_EVENTS: a full request "
                "could never pass the rate limit"
            )

    def _source(self, presented: str | None) -> str | None:
        """The source of a key, compared in constant time against every configured key."""
        found = None
        for key, name in self.sources.items():
            if authorized(presented, key):
                found = name
        return found

    async def preflight(self, request: web.Request) -> web.Response:
        headers = _cors(request.headers.get("Origin"), self.origins)
        if not headers:
            return web.json_response({"error": "origin not allowed"}, status=403)
        headers |= {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        }
        return web.Response(status=204, headers=headers)

    async def receive(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        cors = _cors(origin, self.origins)
        if origin is not None and not cors:
            return _answer({"error": "origin not allowed"}, 403, {})
        limit = self.settings.collect_max_bytes
        if (request.content_length or 0) > limit:
            return _answer({"error": f"the body is over {limit:,} bytes"}, 413, cors)
        body = await read_body(request, self.settings.ingest_body_timeout_s)
        if isinstance(body, web.Response):
            metrics.COLLECT_REQUESTS.labels(str(body.status)).inc()
            return body
        if len(body) > limit:  # chunked bodies say no length up front
            return _answer({"error": f"the body is over {limit:,} bytes"}, 413, cors)
        try:
            raw_events, body_key = parse_events(body)
        except InvalidEvent as exc:
            # Said only to a caller with a key: a stranger learns nothing but 401.
            if self._source(request.headers.get("Authorization")) is None:
                return _answer({"error": "bad or missing write key"}, 401, cors)
            return _answer({"error": exc.reason}, 400, cors)
        source = self._source(request.headers.get("Authorization") or body_key)
        if source is None:
            return _answer({"error": "bad or missing write key"}, 401, cors)
        if len(raw_events) > self.settings.collect_max_events:
            message = f"{len(raw_events):,} events; at most {self.settings.collect_max_events:,}"
            return _answer({"error": message}, 413, cors)
        wait = self._bucket(source).take(len(raw_events), time.monotonic())
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            message = f"{source} is over its rate; retry in {retry} s"
            return _answer({"error": message}, 429, cors | {"Retry-After": retry})
        return await self._publish(raw_events, source, request, cors)

    def _bucket(self, source: str) -> Bucket:
        if source not in self.buckets:
            self.buckets[source] = Bucket(self.settings.collect_rate, self.settings.collect_burst)
        return self.buckets[source]

    async def _publish(
        self, raw_events: list[Any], source: str, request: web.Request, cors: dict[str, str]
    ) -> web.Response:
        seen_by_server = {"user_agent": request.headers.get("User-Agent")}
        events: list[tuple[Event, bytes]] = []
        rejected: list[dict[str, Any]] = []
        for position, raw in enumerate(raw_events):
            try:
                if source in self.anonymous_only and isinstance(raw, dict) and "user_id" in raw:
                    raise InvalidEvent(
                        f"{source} may send events of anonymous visitors only (no user_id): "
                        "visitors are identified by their login"
                    )
                envelope = envelope_from_shop(raw, source, self.tenant, seen_by_server)
                encoded = orjson.dumps(envelope)
                events.append((decode_event(encoded, self.settings.max_event_bytes), encoded))
            except InvalidEvent as exc:
                rejected.append({"event": position, "reason": exc.reason})
        metrics.COLLECT_EVENTS.labels(source, "rejected").inc(len(rejected))
        if not events:
            reason = rejected[0]["reason"] if rejected else "the body holds no events"
            body = {"error": reason, "rejected": rejected[:MAX_REJECTED_LISTED]}
            return _answer(body, 400, cors)
        try:
            await self.publish(events)
        except AuthstreamError as exc:
            log.warning("shop events not published", source=source, error=str(exc))
            return _answer({"error": "broker unavailable, send again later"}, 503, cors)
        metrics.COLLECT_EVENTS.labels(source, "published").inc(len(events))
        answer = {
            "accepted": len(events),
            "rejected_count": len(rejected),
            "rejected": rejected[:MAX_REJECTED_LISTED],
        }
        return _answer(answer, 200, cors)


def register(app: web.Application, settings: Settings, publish: Publish) -> None:
    """Serve ``POST /v1/events`` (and its CORS preflight) on the ingest app."""
    collector = Collector(settings, publish)
    metrics.start_collector(set(collector.sources.values()))
    app.router.add_post(PATH, collector.receive)
    app.router.add_route("OPTIONS", PATH, collector.preflight)
