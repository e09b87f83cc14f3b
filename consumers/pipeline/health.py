"""Is this process alive, can it work, and what has it done: the small HTTP server every process
that does work (``run``, ``ingest``, ``sync``) serves on AUTHSTREAM_METRICS_PORT.

- ``/metrics``: the Prometheus metrics (``pipeline.metrics``);
- ``/healthz``: 200 while the process's event loop turns (a heartbeat it writes every second);
  503 once the heartbeat is older than ``STALE_AFTER_S``: a liveness probe restarts the process;
- ``/readyz``: 200 while every dependency check passes (RabbitMQ consumers up, Elasticsearch
  answering); 503 with the reasons otherwise, and before the first round of checks;
- anything else: 404.

The server runs in its own thread, so a scrape is answered even while the loop is busy, and a
loop that stopped turning shows as a stale heartbeat rather than as a probe that hangs. The loop
writes (``Health.watch``), the thread only reads.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from elasticsearch import AsyncElasticsearch
from prometheus_client import REGISTRY, make_wsgi_app

from consumers.core.errors import AuthstreamError, ConfigurationError
from consumers.core.settings import Settings
from consumers.pipeline import metrics

# A check answers None when the dependency is fine, else why the process cannot work.
Check = Callable[[], Awaitable[str | None]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]

BEAT_S = 1.0
CHECK_EVERY_S = 5.0
CHECK_TIMEOUT_S = 3.0
# Far above any pause of a healthy loop (a batch's fold is milliseconds): past it, restart.
STALE_AFTER_S = 30.0


class Health:
    """What the probes answer, written by the event loop and read by the HTTP thread."""

    def __init__(
        self, stale_after_s: float = STALE_AFTER_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.checks: dict[str, Check] = {}
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.heartbeat = clock()
        self.problems: dict[str, str] = {"checks": "not run yet"}

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def beat(self) -> None:
        self.heartbeat = self.clock()
        metrics.HEARTBEAT.set_to_current_time()

    async def check_now(self) -> None:
        results = await asyncio.gather(*(_run(name, c) for name, c in self.checks.items()))
        self.problems = {name: reason for name, reason in results if reason}

    async def watch(self, stop: asyncio.Event) -> None:
        """Beat every second and check the dependencies every few seconds, until ``stop``."""

        async def beating() -> None:
            while not stop.is_set():
                self.beat()
                await _sleep_unless(stop, BEAT_S)

        async def checking() -> None:
            while not stop.is_set():
                await self.check_now()
                await _sleep_unless(stop, CHECK_EVERY_S)

        await asyncio.gather(beating(), checking())

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        age = round(self.clock() - self.heartbeat, 1)
        if age > self.stale_after_s:
            return False, {"status": "stalled", "heartbeat_age_s": age}
        return True, {"status": "ok", "heartbeat_age_s": age}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        problems = dict(self.problems)
        if not self.liveness()[0]:
            problems["event loop"] = "stalled"
        if problems:
            return False, {"status": "not ready", "problems": problems}
        return True, {"status": "ok", "checked": sorted(self.checks)}


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _run(name: str, check: Check) -> tuple[str, str | None]:
    try:
        return name, await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return name, f"no answer within {CHECK_TIMEOUT_S:.0f} s"
    except AuthstreamError as exc:  # our messages mask secrets
        return name, str(exc)
    except Exception as exc:  # foreign messages may carry URLs with credentials: the kind only
        return name, f"failed ({type(exc).__name__})"


def elasticsearch_check(es: AsyncElasticsearch) -> Check:
    """Elasticsearch answers (the same call as ``authstream check``)."""
    # One client for every check: ``es.options()`` builds a new client, ~40 sub-clients in
    # reference cycles, 18 KB that only the cycle collector frees; every 5 s in every process,
    # with the collector tuned to run seldom (``core.gc_tuning``), that was most of the soak's
    # memory growth in a quiet process (BENCHMARKS.md, "Soak").
    probing = es.options(request_timeout=CHECK_TIMEOUT_S)

    async def check() -> str | None:
        try:
            await probing.cluster.health()
        except Exception as exc:
            return f"Elasticsearch does not answer ({type(exc).__name__})"
        return None

    return check


# --- the HTTP side -------------------------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes every few seconds would drown the logs."""


def application(health: Health) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    serve_metrics = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return serve_metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            ok, body = health.liveness()
        elif path == "/readyz":
            ok, body = health.readiness()
        else:
            ok, body = False, {"error": "not found", "paths": ["/metrics", "/healthz", "/readyz"]}
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [orjson.dumps(body)]
        status = "200 OK" if ok else "503 Service Unavailable"
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        start_response(status, headers)
        return [orjson.dumps(body)]

    return app


class MetricsServer:
    """The server thread; ``close()`` stops it (tests; a process simply exits)."""

    def __init__(self, server: WSGIServer) -> None:
        self.server = server
        self.port: int = server.server_address[1]
        self.thread = threading.Thread(
            target=server.serve_forever, name="authstream-metrics", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(settings: Settings, health: Health) -> MetricsServer | None:
    """Serve /metrics, /healthz and /readyz in a thread (AUTHSTREAM_METRICS_PORT=0: not at all)."""
    if not settings.metrics_port:
        return None
    try:
        server = make_server(
            settings.metrics_host,
            settings.metrics_port,
            application(health),
            server_class=_Server,
            handler_class=_QuietHandler,
        )
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
            f"{exc.strerror} (set AUTHSTREAM_METRICS_PORT, or 0 to turn metrics off)"
        ) from None
    return MetricsServer(server)
