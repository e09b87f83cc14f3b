"""``authstream segments bench``: how fast segment membership is decided, and announced.

1. **in-process evaluation**: 1,000 changed profiles (the demo tenant, folded) against 50 segments
   (the three built-in ones and 47 generated from the whole language), as the segments stage
   evaluates a batch: each profile read once, every segment decided, transitions found. Baseline
   in the same run: asking Elasticsearch instead, one ``_msearch`` of the 50 queries restricted to
   the 1,000 profiles, which is what a stage without an in-process evaluator would send per batch;
2. **change → segment.entered latency**: real ``authstream run --stage index`` and ``--stage
   segments`` processes with the 50 segments loaded from files; users who do not qualify are
   loaded first, then changes that make each of them qualify are published at a fixed rate, and
   each is timed from its publish until its first ``segment.entered`` reaches a queue of our own.

The machine's load and the busiest processes are printed with the figures: the box is shared.
"""

import asyncio
import contextlib
import io
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import aio_pika
import orjson

from consumers.bench.children import ChildProcess, check_alive
from consumers.bench.indexer import authstream_process, percentile, throwaway_setups
from consumers.bench.segment_workload import (
    CHANGES,
    bench_segments,
    changed_profiles,
    envelope,
    newcomer,
    write_segment_files,
)
from consumers.broker import admin
from consumers.broker.publisher import open_publisher, publish_stream
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.profile.model import Profile
from consumers.segments.definitions import Segment
from consumers.segments.membership import Evaluator, transitions
from consumers.store import elastic

TARGETS = {"evaluate_ms": 50.0, "p99_ms": 2_000.0}
REPETITIONS = 30


@dataclass
class SegmentsBenchResult:
    profiles: int
    segments: int
    evaluate_ms: float  # median of the repetitions
    evaluate_best_ms: float
    per_decision_ns: float  # one profile against one segment
    msearch_ms: float  # baseline: the same decisions asked of Elasticsearch
    offered_eps: int
    changes: int
    announced: int
    entries: int  # segment.entered announcements (distinct ids; each is folded by the index too)
    repeated: int  # announcements published again with an id already heard
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    load: str  # /proc/loadavg before and after the latency run
    busiest: list[str]  # the busiest processes during the latency run, % of one core


def time_evaluation(profiles: list[Profile], segments: list[Segment], now: datetime) -> list[float]:
    """Milliseconds per batch, ``REPETITIONS`` times: what the stage does per batch in process."""
    evaluator = Evaluator(segments)
    names = evaluator.names
    evaluator.predicates(now)  # built once an hour by the stage
    timings = []
    for _ in range(REPETITIONS):
        started = time.perf_counter()
        for profile in profiles:
            transitions(profile, evaluator.qualifying(profile, now), names)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def msearch_baseline(
    settings: Settings, profiles: list[Profile], segments: list[Segment], now: datetime
) -> float:
    """Milliseconds for Elasticsearch to say which of these profiles are in which segment."""
    names = Names(settings.name_prefix)
    ids = [p.user_id for p in profiles]
    searches: list[dict[str, Any]] = []
    for segment in segments:
        query = {"bool": {"filter": [segment.render(now=now), {"ids": {"values": ids}}]}}
        searches += [
            {"index": names.users_alias},
            {"query": query, "size": len(ids), "_source": False},
        ]
    async with elastic.connect(settings) as es:
        operations: list[dict[str, Any]] = []
        for profile in profiles:
            operations += [
                {"index": {"_index": names.users_alias, "_id": profile.user_id}},
                profile.document(),
            ]
        await es.bulk(operations=operations, refresh=True)
        await es.msearch(searches=searches)  # warm caches, as a running stage would have them
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            await es.msearch(searches=searches)
            timings.append((time.perf_counter() - started) * 1000)
    return median(timings)


async def _drained(
    settings: Settings, stages: list[str], deadline: float, watched: list[ChildProcess]
) -> None:
    names = Names(settings.name_prefix)
    async with admin.connect(settings, name="authstream bench") as connection:
        while True:
            loads = [await admin.queue_load(connection, names.work_queue(s)) for s in stages]
            if not any(messages for messages, _ in loads):
                return
            check_alive(watched)  # a dead stage's queue never drains: say so, with its last lines
            if time.monotonic() > deadline:
                raise RuntimeError("the stages did not catch up with the preload")
            await asyncio.sleep(0.5)


async def entry_latency(
    settings: Settings, directory: Path, rate: int, seconds: int, entries_each: int
) -> tuple[list[float], int, tuple[int, int], list[str]]:
    """Milliseconds from a change's publish to the user's first ``segment.entered``."""
    now = datetime.now(UTC).replace(microsecond=0)
    run = uuid.uuid4().hex[:6]
    users = [newcomer(n, run, now) for n in range(rate * seconds)]
    signups = b"\n".join(envelope("auth.signup", u, now - timedelta(minutes=5)) for u in users)
    changes = [envelope("user.updated", u, now, likes=[CHANGES[entries_each]]) for u in users]
    names = Names(settings.name_prefix)
    env = {"AUTHSTREAM_SEGMENTS_DIR": str(directory), "AUTHSTREAM_METRICS_PORT": "0"}
    sent: dict[str, float] = {}
    heard: dict[str, float] = {}
    entries = [0]  # every segment.entered heard (a change can enter several segments)
    distinct: set[str] = set()
    with (
        authstream_process(settings, ["run", "--stage", "index"], **env) as index,
        authstream_process(settings, ["run", "--stage", "segments"], **env) as segments,
    ):
        await publish_stream(io.BytesIO(signups), settings, total_bytes=len(signups))
        await _drained(settings, ["index", "segments"], time.monotonic() + 600, [index, segments])
        connection = await aio_pika.connect(settings.amqp_urls()[0])
        lost: list[object] = []
        connection.close_callbacks.add(lambda *reason: lost.append(reason))
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(names.exchange, "segment.*.entered")

            every_one = asyncio.Event()

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                announced = orjson.loads(message.body)
                heard.setdefault(announced["user"]["user_id"], time.perf_counter())
                entries[0] += 1
                distinct.add(announced["event_id"])
                if len(heard) >= len(changes):
                    every_one.set()

            await queue.consume(on_message, no_ack=True)
            before = _cpu_ticks()
            async with open_publisher(settings) as publisher:
                started = time.perf_counter()
                for number, body in enumerate(changes):
                    due = started + number / rate
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                    event = decode_event(body, settings.max_event_bytes)
                    sent[event.user.user_id] = time.perf_counter()
                    await publisher.publish(number, event, body)
            with contextlib.suppress(TimeoutError):  # the missing ones are reported
                await asyncio.wait_for(every_one.wait(), 60)
            busiest = _busiest(before, _cpu_ticks(), time.perf_counter() - started)
            if lost:  # our queue went with the connection: the figures would be wrong
                raise RuntimeError(
                    "the broker closed the bench's connection (restarted?): run again"
                )
    latencies = sorted((heard[u] - sent[u]) * 1000 for u in sent if u in heard)
    return latencies, len(sent), (len(distinct), entries[0] - len(distinct)), busiest


def _cpu_ticks() -> dict[int, tuple[int, str]]:
    """CPU ticks used so far and a short command line, per process (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        found[int(entry.name)] = (int(fields[11]) + int(fields[12]), command.strip()[:70])
    return found


def _busiest(
    before: dict[int, tuple[int, str]],
    after: dict[int, tuple[int, str]],
    seconds: float,
    top: int = 8,
) -> list[str]:
    """The processes that used the most CPU between two snapshots, in % of one core."""
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    used = sorted(
        ((ticks - before[pid][0]) / ticks_per_s / seconds * 100, command)
        for pid, (ticks, command) in after.items()
        if pid in before
    )[::-1]
    return [f"{share:.0f}% {command}" for share, command in used[:top] if share >= 1]


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


async def run_segments_bench(
    settings: Settings, profiles: int, segments: int, rate: int, seconds: int, entries_each: int
) -> SegmentsBenchResult:
    now = datetime.now(UTC)
    chosen = bench_segments(segments)
    batch = changed_profiles(profiles, now)
    timings = time_evaluation(batch, chosen, now)
    with tempfile.TemporaryDirectory(prefix="authstream-segments-") as tmp:
        directory = Path(tmp)
        write_segment_files(directory, chosen)
        configured = settings.model_copy(update={"segments_dir": directory})
        async with throwaway_setups(configured, "eval", "lat") as phases:
            msearch_ms = await msearch_baseline(phases["eval"], batch, chosen, now)
            load_before = _loadavg()
            latencies, changes, (entries, repeated), busiest = await entry_latency(
                phases["lat"], directory, rate, seconds, entries_each
            )
            load = f"{load_before} → {_loadavg()}"
    best, typical = min(timings), median(timings)
    return SegmentsBenchResult(
        profiles=len(batch),
        segments=len(chosen),
        evaluate_ms=round(typical, 2),
        evaluate_best_ms=round(best, 2),
        per_decision_ns=round(typical * 1e6 / (len(batch) * len(chosen)), 1),
        msearch_ms=round(msearch_ms, 1),
        offered_eps=rate,
        changes=changes,
        announced=len(latencies),
        entries=entries,
        repeated=repeated,
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_ms=round(latencies[-1], 1) if latencies else float("nan"),
        load=load,
        busiest=busiest,
    )


def format_segments_bench(r: SegmentsBenchResult) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines = [
        f"in-process evaluation   {r.evaluate_ms:8.1f} ms  {r.profiles:,} profiles x {r.segments} "
        f"segments (median of {REPETITIONS}, best {r.evaluate_best_ms:.1f} ms, "
        f"{r.per_decision_ns:.0f} ns per decision); target ≤ {TARGETS['evaluate_ms']:.0f} ms: "
        f"{verdict(r.evaluate_ms <= TARGETS['evaluate_ms'])}",
        f"baseline: ask Elasticsearch {r.msearch_ms:6.1f} ms  one _msearch of the {r.segments} "
        f"queries over the same {r.profiles:,} profiles; "
        f"{r.msearch_ms / r.evaluate_ms:.1f}x the in-process time",
        f"change → segment.entered  p50 {r.p50_ms:.0f} ms  p95 {r.p95_ms:.0f} ms, p99 "
        f"{r.p99_ms:.0f} ms, max {r.max_ms:.0f} ms; {r.announced:,} of {r.changes:,} changes at "
        f"{r.offered_eps:,}/s; p99 target ≤ {TARGETS['p99_ms']:.0f} ms: "
        f"{verdict(r.p99_ms <= TARGETS['p99_ms'] and r.announced == r.changes)}",
        f"load average             {r.load}",
        f"entries per change       {r.entries / max(r.changes, 1):.1f}  ({r.entries:,} "
        f"segment.entered announcements, each also folded by the index stage; {r.repeated} "
        "published twice)",
        "busiest processes during the latency run (% of one core):",
        *(f"  {line}" for line in r.busiest),
    ]
    return "\n".join(lines) + "\n" + json.dumps(asdict(r))
