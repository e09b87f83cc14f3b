"""``authstream bench``: how fast is the indexer, measured against what Elasticsearch can take.

One run measures, each under its own throwaway name prefix, on the services configured:

1. the **limit baseline**: the same Elasticsearch writes the indexer makes (event documents plus
   one folded profile per user per batch), prepared in memory and sent with the bulk helper: no
   queue, no validation. Nothing built on this node can go faster;
2. the **pipeline**: the workload published through RabbitMQ and indexed by a real
   ``authstream run --stage index`` process, from the first publish until the worker has acked the
   last message (read from its /metrics), with the worker's peak RSS;
3. **latency**: events offered at a fixed rate, each timed from its publish until a search finds it;
4. the **naive baseline**: one index request per event, as saving from the Auth0 rule would do.

The last line printed is one JSON object with every figure.
"""

import asyncio
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from consumers.broker.publisher import open_publisher, publish_stream
from consumers.cli.setup import remove_everything, run_setup
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.demo.synthetic import synthetic_event, synthetic_user
from consumers.pipeline.decode import decode_event
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.stages.index import event_document
from consumers.store import elastic
from schemas import Event

TARGETS = {"ratio_to_limit": 0.7, "speedup_vs_naive": 10.0, "p99_ms": 1500.0, "rss_mb": 300.0}
POLL_S = 0.05  # searchability polls: the resolution of the latency figures
# Scraping /metrics costs the worker CPU; twice a second is plenty to see it finish.
SETTLED_POLL_S = 0.5
_DONE = re.compile(r'^authstream_messages_total\{outcome="done",stage="index"\} (\S+)$', re.M)


@dataclass
class BenchResult:
    events: int
    throughput_eps: float
    pipeline_s: float
    rss_mb: float
    limit_eps: float
    ratio_to_limit: float
    naive_eps: float
    naive_events: int
    speedup_vs_naive: float
    offered_eps: int
    latency_events: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    batch_size: int
    prefetch: int


def workload(total: int, seed: int = 11) -> list[dict[str, Any]]:
    """``total`` envelopes: one in five a signup, the rest logins of users who signed up before."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]  # fresh event ids every run
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    users: list[tuple[dict[str, Any], str]] = []
    events = []
    for i in range(total):
        at = start + timedelta(seconds=i)
        if i % 5 == 0 or not users:
            user, connection = synthetic_user(rng, len(users), at)
            user |= {"logins_count": 1, "created_at": at.isoformat()}
            users.append((user, connection))
            kind = "auth.signup"
        else:
            slot = rng.randrange(len(users))
            user, connection = users[slot]
            user = user | {"logins_count": user["logins_count"] + 1, "last_login": at.isoformat()}
            users[slot] = (user, connection)
            kind = "auth.login"
        events.append(synthetic_event(f"{run}/{i}", kind, at, user, connection))
    return events


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def done_messages(metrics_text: str) -> int:
    """Messages the index stage has settled as done, from a /metrics page."""
    match = _DONE.search(metrics_text)
    return int(float(match[1])) if match else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def with_prefix(settings: Settings, prefix: str) -> Settings:
    return settings.model_copy(update={"name_prefix": prefix})


@asynccontextmanager
async def throwaway_setups(settings: Settings, *phases: str) -> AsyncIterator[dict[str, Settings]]:
    """Settings per phase, each under a fresh prefix, set up now and removed when done."""
    run = uuid.uuid4().hex[:6]
    prefixed = {phase: with_prefix(settings, f"bench{run}-{phase}-") for phase in phases}
    try:
        for phase_settings in prefixed.values():
            await run_setup(phase_settings)
        yield prefixed
    finally:
        for phase_settings in prefixed.values():
            await remove_everything(phase_settings)


@contextmanager
def authstream_process(
    settings: Settings, command: list[str], **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``authstream COMMAND`` in its own process, on these settings; SIGTERM when done."""
    environment = os.environ | {
        "AUTHSTREAM_AMQP_URL": settings.amqp_url.get_secret_value(),
        "AUTHSTREAM_ELASTICSEARCH_URL": settings.elasticsearch_url,
        "AUTHSTREAM_NAME_PREFIX": settings.name_prefix,
        "AUTHSTREAM_LOG_LEVEL": "warning",
        **env,
    }
    # Our own interpreter and module with fixed arguments: no untrusted input reaches the call.
    process = subprocess.Popen([sys.executable, "-m", "consumers.cli", *command], env=environment)  # noqa: S603
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def worker_process(settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A real ``authstream run --stage index`` for these settings, with its metrics port."""
    port = free_port()
    with authstream_process(
        settings,
        ["run", "--stage", "index"],
        AUTHSTREAM_METRICS_HOST="127.0.0.1",
        AUTHSTREAM_METRICS_PORT=str(port),
    ) as process:
        yield process, port


async def _settled(client: httpx.AsyncClient, port: int) -> int:
    try:
        return done_messages((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
    except httpx.HTTPError:
        return -1  # not listening yet


async def _wait_for_settled(port: int, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 1_800
    async with httpx.AsyncClient(timeout=5) as client:
        while await _settled(client, port) < count:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not finish within 30 minutes")
            await asyncio.sleep(SETTLED_POLL_S)


def _same_writes(
    events: list[Event], names: Names, batch_size: int, taxonomy: Taxonomy
) -> list[dict[str, Any]]:
    """The indexer's writes for these events: every event, one profile per user per batch."""
    now = datetime.now(UTC)
    profiles: dict[str, Profile] = {}
    actions: list[dict[str, Any]] = []
    for start in range(0, len(events), batch_size):
        by_user: dict[str, list[Event]] = defaultdict(list)
        for event in events[start : start + batch_size]:
            by_user[event.user.user_id].append(event)
            actions.append(
                {
                    "_op_type": "create",
                    "_index": names.events_stream,
                    "_id": event.event_id,
                    "_source": event_document(event, now),
                }
            )
        for user_id, batch in by_user.items():
            profiles[user_id], _ = fold(profiles.get(user_id), batch, taxonomy, now)
            actions.append(
                {
                    "_op_type": "index",
                    "_index": names.users_alias,
                    "_id": user_id,
                    "_source": profiles[user_id].document(),
                }
            )
    return actions


async def limit_baseline(settings: Settings, events: list[Event]) -> float:
    names = Names(settings.name_prefix)
    actions = _same_writes(events, names, settings.batch_size, Taxonomy.load())
    async with elastic.connect(settings) as es:
        started = time.perf_counter()
        # One request per indexer batch: its events plus at most one profile per event.
        _, errors = await async_bulk(
            es, actions, chunk_size=2 * settings.batch_size, raise_on_error=False, stats_only=True
        )
        seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"the limit baseline had {errors} failed writes")
    return len(events) / seconds


async def naive_baseline(settings: Settings, events: list[Event]) -> float:
    """One request per event, waiting for each: the profile, as the article's rule saves it."""
    names = Names(settings.name_prefix)
    taxonomy, now = Taxonomy.load(), datetime.now(UTC)
    profiles: dict[str, Profile] = {}
    documents = []
    for event in events:
        user_id = event.user.user_id
        profiles[user_id], _ = fold(profiles.get(user_id), [event], taxonomy, now)
        documents.append((user_id, profiles[user_id].document()))
    async with elastic.connect(settings) as es:
        started = time.perf_counter()
        for user_id, document in documents:
            await es.index(index=names.users_alias, id=user_id, document=document)
        return len(documents) / (time.perf_counter() - started)


async def pipeline(settings: Settings, lines: list[bytes]) -> tuple[float, float]:
    """Events/s from the first publish until the worker acked the last event, and its peak RSS."""
    body = b"\n".join(lines)
    with worker_process(settings) as (process, port):
        await _wait_for_settled(port, 0, process)  # listening
        started = time.perf_counter()
        report = await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
        if not report.ok:
            raise RuntimeError(f"{len(report.failures)} events were not published")
        await _wait_for_settled(port, len(lines), process)
        seconds = time.perf_counter() - started
        rss = peak_rss_mb(process.pid)
    return seconds, rss


async def _searchable(
    es: AsyncElasticsearch,
    index: str,
    sent: dict[str, float],
    found: dict[str, float],
    publishing: asyncio.Task[None],
) -> None:
    deadline = None
    while not publishing.done() or len(found) < len(sent):
        if publishing.done():
            deadline = deadline or time.perf_counter() + 60
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(sent) - len(found)} events not searchable after 60 s")
        pending = [event_id for event_id in list(sent) if event_id not in found]
        for start in range(0, len(pending), 1000):
            chunk = pending[start : start + 1000]
            result = await es.options(ignore_status=elastic.NOT_YET_SEARCHABLE).search(
                index=index,
                query={"ids": {"values": chunk}},
                size=len(chunk),
                source=False,
                filter_path="hits.hits._id",
            )
            now = time.perf_counter()
            for hit in result.get("hits", {}).get("hits", []):
                found.setdefault(hit["_id"], now)
        await asyncio.sleep(POLL_S)


async def latency(settings: Settings, lines: list[bytes], rate: int) -> list[float]:
    """Milliseconds from publish to searchable for each event, offered at ``rate`` events/s."""
    sent: dict[str, float] = {}
    found: dict[str, float] = {}
    events = [decode_event(line, settings.max_event_bytes) for line in lines]

    async def offer() -> None:
        async with open_publisher(settings) as publisher:
            started = time.perf_counter()
            for number, (event, line) in enumerate(zip(events, lines, strict=True)):
                due = started + number / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                sent[event.event_id] = time.perf_counter()
                await publisher.publish(number, event, line)

    with worker_process(settings) as (process, port):
        await _wait_for_settled(port, 0, process)
        async with elastic.connect(settings) as es:
            publishing = asyncio.create_task(offer())
            await _searchable(
                es, Names(settings.name_prefix).events_stream, sent, found, publishing
            )
            await publishing
    return sorted((found[i] - sent[i]) * 1000 for i in sent)


async def run_bench(
    settings: Settings,
    total: int,
    rate: int,
    latency_seconds: int,
    naive_events: int,
    say: Any = print,
) -> BenchResult:
    say(f"generating {total:,} events (20% signups) ...")
    envelopes = workload(total)
    lines = [orjson.dumps(e) for e in envelopes]
    events = [decode_event(line, settings.max_event_bytes) for line in lines]
    latency_lines = [orjson.dumps(e) for e in workload(rate * latency_seconds, seed=12)]
    async with throwaway_setups(settings, "limit", "pipe", "lat", "naive") as phases:
        say("limit baseline: the same writes straight from memory with the bulk helper ...")
        limit_eps = await limit_baseline(phases["limit"], events)
        say("pipeline: publish → RabbitMQ → authstream run → Elasticsearch → ack ...")
        seconds, rss = await pipeline(phases["pipe"], lines)
        say(f"latency: {rate:,} events/s offered for {latency_seconds} s ...")
        latencies = await latency(phases["lat"], latency_lines, rate)
        say(f"naive baseline: one request per event, {naive_events:,} events ...")
        naive_eps = await naive_baseline(phases["naive"], events[:naive_events])
    throughput = total / seconds
    return BenchResult(
        events=total,
        throughput_eps=round(throughput, 1),
        pipeline_s=round(seconds, 2),
        rss_mb=round(rss, 1),
        limit_eps=round(limit_eps, 1),
        ratio_to_limit=round(throughput / limit_eps, 3),
        naive_eps=round(naive_eps, 1),
        naive_events=naive_events,
        speedup_vs_naive=round(throughput / naive_eps, 1),
        offered_eps=rate,
        latency_events=len(latencies),
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_ms=round(latencies[-1], 1) if latencies else float("nan"),
        batch_size=settings.batch_size,
        prefetch=settings.prefetch,
    )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def format_result(r: BenchResult) -> str:
    rows = [
        (
            "pipeline (publish → indexed + acked)",
            f"{r.throughput_eps:,.0f} events/s",
            f"{r.events:,} events in {r.pipeline_s:.1f} s; "
            f"batch {r.batch_size}, prefetch {r.prefetch}",
        ),
        (
            "limit baseline (bulk helper, from memory)",
            f"{r.limit_eps:,.0f} events/s",
            "same writes, no queue, no validation",
        ),
        (
            "naive baseline (one request per event)",
            f"{r.naive_eps:,.0f} events/s",
            f"{r.naive_events:,} events",
        ),
        (
            "ratio to limit",
            f"{r.ratio_to_limit:.2f}",
            f"target ≥ {TARGETS['ratio_to_limit']}: "
            f"{_verdict(r.ratio_to_limit >= TARGETS['ratio_to_limit'])}",
        ),
        (
            "speed-up over naive",
            f"{r.speedup_vs_naive:.1f}x",
            f"target ≥ {TARGETS['speedup_vs_naive']:.0f}x: "
            f"{_verdict(r.speedup_vs_naive >= TARGETS['speedup_vs_naive'])}",
        ),
        (
            f"publish → searchable at {r.offered_eps:,}/s",
            f"p50 {r.p50_ms:.0f} ms",
            f"p95 {r.p95_ms:.0f} ms, p99 {r.p99_ms:.0f} ms, max {r.max_ms:.0f} ms over "
            f"{r.latency_events:,} events; p99 target ≤ {TARGETS['p99_ms']:.0f} ms: "
            f"{_verdict(r.p99_ms <= TARGETS['p99_ms'])}",
        ),
        (
            "worker peak RSS",
            f"{r.rss_mb:.0f} MB",
            f"target ≤ {TARGETS['rss_mb']:.0f} MB: {_verdict(r.rss_mb <= TARGETS['rss_mb'])}",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    table = "\n".join(f"{a:<{width}}  {b:>{value_width}}  {c}" for a, b, c in rows)
    return f"{table}\n{json.dumps(asdict(r))}"
