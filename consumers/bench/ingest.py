"""``authstream bench ingest``: Log Stream webhook throughput with confirms.

A real ``authstream ingest`` process takes 100-record JSONLINES batches over HTTP, as Auth0 sends
them, from a few concurrent senders; each answer comes after the broker confirmed the batch.
The baseline is the broker-side limit: the same events sent by ``authstream publish``'s publisher
(no HTTP, no mapping). Prints a table, then one JSON line.
"""

import asyncio
import io
import json
import os
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import httpx
import orjson

from consumers.bench.cpu import CpuMeter, service_pids
from consumers.bench.indexer import (
    authstream_process,
    free_port,
    peak_rss_mb,
    percentile,
    throwaway_setups,
)
from consumers.broker.publisher import publish_stream
from consumers.core.settings import Settings
from consumers.ingest.auth0_logs import envelope_from

TARGET_EPS = 5_000
BATCH = 100
TOKEN = uuid.uuid4().hex


@dataclass
class IngestResult:
    events: int
    batch: int
    senders: int
    ingest_eps: float
    request_p50_ms: float
    request_p99_ms: float
    publish_limit_eps: float
    ratio_to_limit: float
    rss_mb: float
    cpu_ms_per_event: dict[str, float]  # ingest, the load generator, RabbitMQ (from /proc)


def log_records(count: int) -> list[dict[str, object]]:
    run = uuid.uuid4().hex[:8]
    codes = ["s"] * 8 + ["ss", "fp"]
    return [
        {
            "log_id": f"{run}{n:012d}",
            "data": {
                "date": datetime.now(UTC).isoformat(),
                "type": codes[n % len(codes)],
                "user_id": f"auth0|{n % 5_000}",
                "user_name": f"user{n % 5_000}@example.com",
                "ip": "203.0.113.10",
                "user_agent": "Chrome 131.0.0 / Mac OS X 14.6.1",
                "client_id": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
                "client_name": "InnovaShoes Web",
                "connection": "Username-Password-Authentication",
                "strategy": "auth0",
                "strategy_type": "database",
                "hostname": "innovashoes.eu.auth0.com",
            },
        }
        for n in range(count)
    ]


async def _send_all(url: str, batches: list[bytes], senders: int) -> tuple[float, list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(senders)))
        return time.perf_counter() - started, sorted(latencies)


async def _measure(
    settings: Settings,
    server: subprocess.Popen[bytes],
    port: int,
    batches: list[bytes],
    senders: int,
) -> tuple[float, list[float], float, dict[str, float]]:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("authstream ingest did not start")
            await asyncio.sleep(0.1)
    services = service_pids(settings.amqp_urls()[0], settings.elasticsearch_url)
    services.pop("elasticsearch", None)  # ingest does not touch it
    meter = CpuMeter({"load generator": os.getpid(), "ingest": server.pid, **services}).start()
    seconds, latencies = await _send_all(f"http://127.0.0.1:{port}/auth0/logs", batches, senders)
    meter.stop()
    return seconds, latencies, peak_rss_mb(server.pid), meter.per_event_ms(len(batches) * BATCH)


async def run_ingest_bench(settings: Settings, events: int, senders: int) -> IngestResult:
    records = log_records(events)
    batches = [
        b"\n".join(orjson.dumps(r) for r in records[i : i + BATCH])
        for i in range(0, len(records), BATCH)
    ]
    port = free_port()
    async with throwaway_setups(settings, "in", "lim") as phases:
        with authstream_process(
            phases["in"], ["ingest", "--port", str(port)], AUTHSTREAM_INGEST_TOKEN=TOKEN
        ) as server:
            seconds, latencies, rss, cpu = await _measure(
                phases["in"], server, port, batches, senders
            )
        lines = b"\n".join(orjson.dumps(envelope_from(r)) for r in records)
        started = time.perf_counter()
        await publish_stream(io.BytesIO(lines), phases["lim"])
        limit = events / (time.perf_counter() - started)
    eps = events / seconds
    return IngestResult(
        events=events,
        batch=BATCH,
        senders=senders,
        ingest_eps=round(eps, 1),
        request_p50_ms=round(percentile(latencies, 50), 1),
        request_p99_ms=round(percentile(latencies, 99), 1),
        publish_limit_eps=round(limit, 1),
        ratio_to_limit=round(eps / limit, 3),
        rss_mb=round(rss, 1),
        cpu_ms_per_event=cpu,
    )


def format_ingest(r: IngestResult) -> str:
    verdict = "ok" if r.ingest_eps >= TARGET_EPS else "MISSED"
    return "\n".join(
        [
            f"ingest: {r.events:,} Log Stream events in {r.batch}-event batches, "
            f"{r.senders} concurrent senders, 2xx only after confirms",
            f"  ingest throughput      {r.ingest_eps:>9,.0f} events/s  (target ≥ {TARGET_EPS:,}: "
            f"{verdict}); request p50 {r.request_p50_ms:.0f} ms, p99 {r.request_p99_ms:.0f} ms",
            f"  publish-path baseline  {r.publish_limit_eps:>9,.0f} events/s  "
            f"(authstream publish, no HTTP); ratio {r.ratio_to_limit:.2f}",
            f"  ingest peak RSS        {r.rss_mb:>9.0f} MB",
            "  CPU per event          "
            + ", ".join(f"{name} {ms:.3f} ms" for name, ms in r.cpu_ms_per_event.items()),
            json.dumps(asdict(r)),
        ]
    )
