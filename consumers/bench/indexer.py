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
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
from elasticsearch import AsyncElasticsearch

from consumers.bench.children import ChildProcess, check_alive
from consumers.bench.cpu import CpuMeter, cpu_seconds, service_pids
from consumers.bench.workfile import (
    prepare_bulk_bodies,
    read_bodies,
    workload,
    write_workload,
)
from consumers.broker import admin
from consumers.broker.publisher import open_publisher, publish_stream
from consumers.cli.setup import remove_everything, run_setup
from consumers.core.errors import RetryableError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.stages.catalog import enabled_stages
from consumers.store import elastic
from schemas import Event

TARGETS = {
    "ratio_to_limit": 0.7,
    "speedup_vs_naive": 10.0,
    "p99_ms": 1500.0,
    "rss_mb": 300.0,
    "harness_mb": 1024.0,
}
# CPU per event (ms) of the index stage and of the publish path (the load generator publishes as
# `authstream publish` does), read from /proc during the pipeline run (issue 15).
CPU_TARGETS = {"index": 0.25, "load generator": 0.10}
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
    drained_s: float  # until every enabled stage's queue was empty too
    cpu_ms_per_event: dict[str, float]  # per process, during the pipeline run (from /proc)
    harness_rss_mb: float  # the benchmark process's own peak
    fifths: list[dict[str, float]]  # events/s and CPU ms per event per process, per fifth
    batch_size: int
    prefetch: int


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
    # Under the configured prefix: a test (or a tenant) finds and owns what its benchmark makes.
    base = settings.name_prefix
    prefixed = {phase: with_prefix(settings, f"{base}bench{run}-{phase}-") for phase in phases}
    try:
        for phase_settings in prefixed.values():
            await run_setup(phase_settings)
        yield prefixed
    finally:
        for phase_settings in prefixed.values():
            await _remove_despite_outages(phase_settings)


REMOVAL_ATTEMPTS, REMOVAL_PAUSE_S = 12, 5.0


async def _remove_despite_outages(settings: Settings) -> None:
    """``remove_everything``, tried again for a minute while a service is away: a run that ended
    while someone restarted the shared broker once left its queues behind with their messages."""
    for attempt in range(1, REMOVAL_ATTEMPTS + 1):
        try:
            await remove_everything(settings)
            return
        except RetryableError:
            if attempt == REMOVAL_ATTEMPTS:
                raise
            await asyncio.sleep(REMOVAL_PAUSE_S)


@contextmanager
def authstream_process(
    settings: Settings, command: list[str], **env: str
) -> Iterator[ChildProcess]:
    """``authstream COMMAND`` in its own process, on these settings; SIGTERM when done. Its stderr
    reaches ours, and the waits below stop the run, saying why, if it dies (``bench.children``)."""
    environment = os.environ | {
        "AUTHSTREAM_AMQP_URL": settings.amqp_url.get_secret_value(),
        "AUTHSTREAM_ELASTICSEARCH_URL": settings.elasticsearch_url,
        "AUTHSTREAM_NAME_PREFIX": settings.name_prefix,
        "AUTHSTREAM_LOG_LEVEL": "warning",
        **env,
    }
    process = ChildProcess(
        "authstream " + " ".join(command),
        [sys.executable, "-m", "consumers.cli", *command],
        environment,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def worker_process(settings: Settings) -> Iterator[tuple[ChildProcess, int]]:
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


async def _wait_for_settled(
    port: int, count: int, process: ChildProcess, watched: Sequence[ChildProcess] = ()
) -> None:
    """Until the index stage's process has settled ``count`` messages; ``StageDied`` if it, or
    one of the ``watched`` processes, exits meanwhile."""
    deadline = time.monotonic() + 1_800
    async with httpx.AsyncClient(timeout=5) as client:
        while await _settled(client, port) < count:
            check_alive([process, *watched])
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not finish within 30 minutes")
            await asyncio.sleep(SETTLED_POLL_S)


async def _wait_until_ready(
    port: int, process: ChildProcess, watched: Sequence[ChildProcess] = ()
) -> None:
    """Until the process answers /readyz with 200: consuming, its dependencies reachable. Its
    start-up (imports, the taxonomy, connections: about half a second of CPU) is then over, and
    is not counted in the events' CPU. ``StageDied`` if it, or one of ``watched``, exits."""
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            check_alive([process, *watched])
            if time.monotonic() > deadline:
                raise RuntimeError("a stage process was not ready within 2 minutes")
            await asyncio.sleep(SETTLED_POLL_S)


async def _wait_for_all_settled(
    workers: list[tuple[ChildProcess, int]], count: int, watched: Sequence[ChildProcess] = ()
) -> None:
    """Until the index stage's processes together have settled ``count`` messages."""
    deadline = time.monotonic() + 1_800
    async with httpx.AsyncClient(timeout=5) as client:
        while sum([await _settled(client, port) for _, port in workers]) < count:
            check_alive([*(process for process, _ in workers), *watched])
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not finish within 30 minutes")
            await asyncio.sleep(SETTLED_POLL_S)


async def limit_baseline(settings: Settings, workload_file: Path, scratch: Path) -> float:
    """The indexer's writes for the workload, prepared into bulk bodies before the clock starts
    (on disk: the harness stays small), then sent one indexer batch per request."""
    names = Names(settings.name_prefix)
    bodies = scratch / "limit-bodies.bin"
    events = prepare_bulk_bodies(
        workload_file, bodies, names, settings.batch_size, settings.max_event_bytes
    )
    failed = 0
    async with elastic.connect(settings) as es:
        with bodies.open("rb") as source:
            started = time.perf_counter()
            for body in read_bodies(source):
                answer = await es.bulk(
                    operations=cast(Any, body),  # a prepared NDJSON body is sent as it is
                    filter_path="errors",
                )
                failed += bool(answer.get("errors"))
            seconds = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"the limit baseline had {failed} bulk requests with failed writes")
    return events / seconds


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


@dataclass
class PipelineRun:
    seconds: float  # first publish → the index stage acked the last event
    drained_seconds: float  # → every enabled stage's queue was empty as well
    rss_mb: float  # the index stage's peak
    cpu_ms_per_event: dict[str, float]
    # The run in fifths (by events settled): events/s and CPU per event of each process in each,
    # which shows what grows as the indices grow (a long run is slower than a short one).
    fifths: list[dict[str, float]]


TRACE_EVERY_S = 5.0


async def _trace(
    pids: Mapping[str, int],
    workers: list[tuple[ChildProcess, int]],
    into: list[tuple[float, int, dict[str, float]]],
) -> None:
    """Every few seconds: when, how many events settled, each process's CPU so far."""
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            settled = sum([await _settled(client, port) for _, port in workers])
            cpu = {name: s for name, pid in pids.items() if (s := cpu_seconds(pid)) is not None}
            into.append((time.perf_counter(), settled, cpu))
            await asyncio.sleep(TRACE_EVERY_S)


def phases_of(
    trace: list[tuple[float, int, dict[str, float]]], total: int
) -> list[dict[str, float]]:
    """Events/s and CPU ms per event per process, for each fifth of the run."""
    fifths: list[dict[str, float]] = []
    start = trace[0] if trace else None
    for fifth in range(1, 6):
        end = next((t for t in trace if t[1] >= total * fifth // 5), trace[-1] if trace else None)
        if start is None or end is None or end[1] <= start[1]:
            continue
        events = end[1] - start[1]
        figures = {"events_per_s": round(events / max(end[0] - start[0], 1e-9), 1)}
        for name, spent in end[2].items():
            if name in start[2]:
                figures[name] = round((spent - start[2][name]) * 1000 / events, 3)
        fifths.append(figures)
        start = end
    return fifths


async def _drained(settings: Settings, stages: list[str], watched: Sequence[ChildProcess]) -> None:
    """Until every one of ``stages``' queues is empty; ``StageDied`` if a process exits first
    (the queue of a dead stage would never drain)."""
    names = Names(settings.name_prefix)
    async with admin.connect(settings, name="bench drain check") as connection:
        while True:
            loads = [await admin.queue_load(connection, names.work_queue(s)) for s in stages]
            if all(ready == 0 for ready, _ in loads):
                return
            check_alive(watched)
            await asyncio.sleep(SETTLED_POLL_S)


async def pipeline(
    settings: Settings, workload_file: Path, total: int, index_workers: int = 1
) -> PipelineRun:
    """Events/s from the first publish until the index stage acked the last event, and the CPU
    each process spent per event (read from /proc) until every enabled stage was done. With
    ``index_workers`` > 1 the index stage runs as that many competing processes (scale-out);
    its CPU is their sum."""
    others = [spec.name for spec in enabled_stages(settings) if spec.name != "index"]
    services = service_pids(settings.amqp_urls()[0], settings.elasticsearch_url)
    with contextlib.ExitStack() as stack:
        workers = [stack.enter_context(worker_process(settings)) for _ in range(index_workers)]
        # Each on a port of its own: on the default one a stage dies at once whenever anything
        # else on the machine serves metrics there (another run, a soak), and the run then
        # waits for that stage's queue for ever.
        ports = {name: free_port() for name in others}
        stages = {
            name: stack.enter_context(
                authstream_process(
                    settings, ["run", "--stage", name], AUTHSTREAM_METRICS_PORT=str(ports[name])
                )
            )
            for name in others
        }
        for each, each_port in workers:
            await _wait_until_ready(each_port, each, list(stages.values()))
        for name, process in stages.items():
            await _wait_until_ready(ports[name], process, [each for each, _ in workers])
        meter = CpuMeter(
            {"load generator": os.getpid(), **services}
            | {f"index#{n}": each.pid for n, (each, _) in enumerate(workers, 1)}
            | {name: p.pid for name, p in stages.items()}
        ).start()
        trace: list[tuple[float, int, dict[str, float]]] = []
        size = workload_file.stat().st_size  # noqa: ASYNC240 (one stat, before the clock)
        started = time.perf_counter()
        with workload_file.open("rb") as stream:  # read as it is published
            report = await publish_stream(stream, settings, total_bytes=size)
        if not report.ok:
            raise RuntimeError(f"{len(report.failures)} events were not published")
        tracing = asyncio.create_task(_trace(meter.pids, workers, trace))
        try:
            await _wait_for_all_settled(workers, total, list(stages.values()))
        finally:
            tracing.cancel()
        cpu_now = {n: s for n, pid in meter.pids.items() if (s := cpu_seconds(pid)) is not None}
        trace.append((time.perf_counter(), total, cpu_now))  # the last fifth ends here
        seconds = time.perf_counter() - started
        await _drained(settings, others, [*(each for each, _ in workers), *stages.values()])
        drained = time.perf_counter() - started
        meter.stop()
        rss = max(peak_rss_mb(each.pid) for each, _ in workers)
    per_event = meter.per_event_ms(total)
    per_event["index"] = round(sum(v for k, v in per_event.items() if k.startswith("index#")), 3)
    if index_workers == 1:
        per_event = {k: v for k, v in per_event.items() if not k.startswith("index#")}
    return PipelineRun(seconds, drained, rss, per_event, phases_of(trace, total))


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
    index_workers: int = 1,
) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="authstream-bench-") as scratch:
        say(f"generating {total:,} events (20% signups) into a file ...")
        workload_file = write_workload(Path(scratch) / "events.jsonl", total)
        with workload_file.open("rb") as head:
            first = [line.rstrip(b"\n") for _, line in zip(range(naive_events), head, strict=False)]
        naive = [decode_event(line, settings.max_event_bytes) for line in first]
        latency_lines = [orjson.dumps(e) for e in workload(rate * latency_seconds, seed=12)]
        async with throwaway_setups(settings, "limit", "pipe", "lat", "naive") as phases:
            say("limit baseline: the same writes, prepared before the clock starts, in bulks ...")
            limit_eps = await limit_baseline(phases["limit"], workload_file, Path(scratch))
            say("pipeline: publish → RabbitMQ → authstream run → Elasticsearch → ack ...")
            run = await pipeline(phases["pipe"], workload_file, total, index_workers)
            say(f"latency: {rate:,} events/s offered for {latency_seconds} s ...")
            latencies = await latency(phases["lat"], latency_lines, rate)
            say(f"naive baseline: one request per event, {naive_events:,} events ...")
            naive_eps = await naive_baseline(phases["naive"], naive)
    throughput = total / run.seconds
    return BenchResult(
        events=total,
        throughput_eps=round(throughput, 1),
        pipeline_s=round(run.seconds, 2),
        rss_mb=round(run.rss_mb, 1),
        limit_eps=round(limit_eps, 1),
        ratio_to_limit=round(throughput / limit_eps, 4),
        naive_eps=round(naive_eps, 1),
        naive_events=naive_events,
        speedup_vs_naive=round(throughput / naive_eps, 1),
        offered_eps=rate,
        latency_events=len(latencies),
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_ms=round(latencies[-1], 1) if latencies else float("nan"),
        drained_s=round(run.drained_seconds, 2),
        cpu_ms_per_event=run.cpu_ms_per_event,
        fifths=run.fifths,
        harness_rss_mb=round(peak_rss_mb(os.getpid()), 1),
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
            "limit baseline (prepared bulk bodies)",
            f"{r.limit_eps:,.0f} events/s",
            "same writes, serialized before the clock starts; no queue, no validation",
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
        (
            "benchmark harness peak RSS",
            f"{r.harness_rss_mb:.0f} MB",
            f"target ≤ {TARGETS['harness_mb']:.0f} MB: "
            f"{_verdict(r.harness_rss_mb <= TARGETS['harness_mb'])}",
        ),
    ]
    for process, ms in sorted(r.cpu_ms_per_event.items(), key=lambda item: -item[1]):
        target = CPU_TARGETS.get(process)
        verdict = f"target ≤ {target} ms: {_verdict(ms <= target)}" if target else ""
        rows.append((f"CPU per event: {process}", f"{ms:.3f} ms", verdict))
    # Per index process too (index#1, ...) when there are several: their sum is "index".
    total = sum(v for k, v in r.cpu_ms_per_event.items() if not k.startswith("index#"))
    rows.append(("CPU per event: all processes", f"{total:.3f} ms", f"drained in {r.drained_s} s"))
    for number, fifth in enumerate(r.fifths, 1):
        busiest = ", ".join(
            f"{name} {ms:.3f}" for name, ms in sorted(fifth.items()) if name != "events_per_s"
        )
        rows.append(
            (
                f"fifth {number} of the run",
                f"{fifth['events_per_s']:,.0f} events/s",
                f"ms/event: {busiest}",
            )
        )
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    table = "\n".join(f"{a:<{width}}  {b:>{value_width}}  {c}" for a, b, c in rows)
    return f"{table}\n{json.dumps(asdict(r))}"
