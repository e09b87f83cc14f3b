"""``authstream bench soak``: the pipeline at half its measured maximum for a long while (10 minutes
by default), watched for what only shows over time: memory that grows, a backlog that builds up,
file descriptors or connections that leak.

Every enabled stage runs as its own ``authstream run`` process. First a burst of events measures
the maximum throughput (unless ``--rate`` is given); then events are offered at half of it, and
every few seconds each process's resident memory, open file descriptors and sockets are read from
``/proc``, and the backlog from the stages' queues. The report gives each series' slope (per
minute, by least squares) twice: from the end of a one-minute warm-up, and over the second half
of the run alone. Memory that grows while bounded caches fill (the index stage remembers fact
fields for up to 40,000 profiles and keeps the last 1,000 profiles it wrote; one event in five is
a new user) and then stays shows a positive first slope and a second-half slope of about zero; a
leak keeps both positive. The
values after the warm-up, at half time and at the end are printed too. The last line is JSON.

The load is logins of a fixed population of users, with one event in five a signup that takes
the place of the oldest user, so the load generator's own memory is flat too.
"""

import asyncio
import contextlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiormq.exceptions
import orjson

from consumers.bench.children import ChildProcess, check_alive
from consumers.bench.indexer import (
    _wait_for_settled,
    authstream_process,
    throwaway_setups,
    worker_process,
)
from consumers.bench.workfile import Users, iter_workload
from consumers.broker import admin
from consumers.broker.publisher import open_publisher, publish_stream
from consumers.core.errors import BrokerUnavailable
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.stages.catalog import enabled_stages

SAMPLE_EVERY_S = 5.0
WARM_UP_S = 60.0  # caches, pools and the interpreter settle first
# The burst is drawn like the soak's load (logins spread over a growing population of up to
# POPULATION users), and is long enough for nearly every event in a batch to be another user's, as
# in the soak: a 20,000-event burst of 4,000 users measured 2,714 events/s on a quiet machine, and
# half of it (1,357/s) built a backlog of 49,000 messages in the soak's first five minutes.
BURST = 60_000
RECONNECT_S = 2.0  # after the broker dropped the publisher
# Users the load draws logins from; each signup replaces the oldest. Keeping every user made the
# generator hold 630 MB after 22 minutes at 870/s (one event in five a signup); 20,000 users
# are about 40 MB, however long the soak.
POPULATION = 20_000


def process_sample(pid: int) -> tuple[float, int, int]:
    """Resident memory (MB), open file descriptors and, of those, sockets."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fds = sockets = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        fds += 1
        with contextlib.suppress(OSError):
            sockets += os.readlink(fd).startswith("socket:")
    return rss, fds, sockets


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


@dataclass
class SoakResult:
    minutes: float
    rate: float  # offered events/s
    max_eps: float | None  # measured by the burst (None when --rate was given)
    published: int  # confirmed by the broker
    unconfirmed: int  # offered while the broker went away
    broker_drops: int  # times the publisher's connection was lost and reopened
    slopes: dict[str, float] = field(default_factory=dict)  # series -> per minute, after warm-up
    second_half: dict[str, float] = field(default_factory=dict)  # series -> per minute
    first: dict[str, float] = field(default_factory=dict)  # series -> value after warm-up
    middle: dict[str, float] = field(default_factory=dict)  # at half time
    last: dict[str, float] = field(default_factory=dict)


def summarize(
    result: SoakResult, series: dict[str, list[tuple[float, float]]], seconds: float
) -> None:
    """Each series' values after the warm-up, at half time and at the end, and its slopes from
    the warm-up on and over the second half of the run."""
    for name, points in series.items():
        settled = [p for p in points if p[0] >= min(WARM_UP_S, seconds / 4)] or points
        late = [p for p in points if p[0] >= seconds / 2] or points[-1:]
        result.slopes[name] = round(slope_per_minute(settled), 3)
        result.second_half[name] = round(slope_per_minute(late), 3)
        result.first[name] = round(settled[0][1], 1)
        result.middle[name] = round(late[0][1], 1)
        result.last[name] = round(points[-1][1], 1)


async def _backlog(settings: Settings, stages: list[str]) -> int | None:
    """Messages in the stages' queues; None when the broker does not answer (a restart by
    someone else on this shared machine: the sample is skipped, the soak goes on)."""
    names = Names(settings.name_prefix)
    try:
        async with admin.connect(settings, name="soak backlog") as connection:
            with admin.broker_errors(settings):
                loads = [await admin.queue_load(connection, names.work_queue(s)) for s in stages]
    except (BrokerUnavailable, aiormq.exceptions.AMQPError):
        return None
    return sum(ready for ready, _ in loads)


async def _burst(
    settings: Settings, port: int, process: ChildProcess, others: list[ChildProcess]
) -> float:
    load = iter_workload(BURST, seed=21, users=Users(POPULATION))
    body = b"\n".join(orjson.dumps(e) for e in load)
    started = time.perf_counter()
    await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
    await _wait_for_settled(port, BURST, process, others)
    return BURST / (time.perf_counter() - started)


def load_connection(settings: Settings) -> str:
    """The load generator's connection name: the broker's view tells whose load it is."""
    return f"authstream soak load {settings.name_prefix}"


@dataclass
class Offered:
    confirmed: int = 0  # events the broker confirmed
    unconfirmed: int = 0  # published when the broker went away: maybe lost, maybe not
    lost_sessions: int = 0  # times the broker dropped (or refused) the publisher's connection


async def _offer(settings: Settings, rate: float, seconds: float, offered: Offered) -> None:
    """Events at ``rate`` for ``seconds``. When the broker drops the publisher's connection (a
    restart on this shared machine), it is reopened and the schedule goes on: the events due
    meanwhile are offered late, not skipped."""
    events = iter_workload(int(rate * seconds) + 1, seed=22, users=Users(POPULATION))
    started = time.perf_counter()
    number = 0
    while True:
        dropped = False
        try:
            async with open_publisher(settings, load_connection(settings)) as publisher:
                for envelope in events:
                    due = started + number / rate
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                    if time.perf_counter() - started > seconds:
                        break
                    if dropped := not publisher.channel.is_open:
                        break
                    line = orjson.dumps(envelope)
                    event = decode_event(line, settings.max_event_bytes)
                    await publisher.publish(number, event, line)
                    number += 1
            offered.confirmed += publisher.report.published
            offered.unconfirmed += len(publisher.report.failures)
        except BrokerUnavailable:
            dropped = True
        if not dropped:
            return  # the time is up
        offered.lost_sessions += 1
        await asyncio.sleep(RECONNECT_S)


async def run_soak(
    settings: Settings, minutes: float, rate: float | None, say: object
) -> SoakResult:
    tell = say if callable(say) else print
    async with throwaway_setups(settings, "soak") as phases:
        soak = phases["soak"]
        stages = [spec.name for spec in enabled_stages(soak)]
        with contextlib.ExitStack() as stack:
            process, port = stack.enter_context(worker_process(soak))
            processes = {"index": process}
            for name in stages:
                if name != "index":
                    processes[name] = stack.enter_context(
                        authstream_process(soak, ["run", "--stage", name])
                    )
            others = [p for name, p in processes.items() if name != "index"]
            await _wait_for_settled(port, 0, process, others)
            measured = None
            if rate is None:
                tell(f"burst: {BURST:,} events to measure the maximum throughput ...")
                measured = await _burst(soak, port, process, others)
                rate = measured / 2
            tell(
                f"soak: {rate:,.0f} events/s for {minutes:g} minutes, sampled every "
                f"{SAMPLE_EVERY_S:g} s ..."
            )
            seconds = minutes * 60
            offered = Offered()
            offering = asyncio.create_task(_offer(soak, rate, seconds, offered))
            series: dict[str, list[tuple[float, float]]] = {}
            started = time.monotonic()
            try:
                while not offering.done():
                    await asyncio.sleep(SAMPLE_EVERY_S)
                    at = time.monotonic() - started
                    check_alive(processes.values())  # a dead stage stops the soak, saying why
                    for name, each in processes.items():
                        rss, fds, sockets = process_sample(each.pid)
                        for key, value in (("rss_mb", rss), ("fds", fds), ("sockets", sockets)):
                            series.setdefault(f"{name} {key}", []).append((at, value))
                    if (backlog := await _backlog(soak, stages)) is not None:
                        series.setdefault("backlog (messages)", []).append((at, backlog))
                await offering
            finally:
                offering.cancel()
    result = SoakResult(
        minutes,
        round(rate, 1),
        measured and round(measured, 1),
        offered.confirmed,
        offered.unconfirmed,
        offered.lost_sessions,
    )
    summarize(result, series, seconds)
    return result


def format_soak(r: SoakResult) -> str:
    warm = f"after {WARM_UP_S / 60:g} min"
    lines = [
        f"soak: {r.published:,} events at {r.rate:,.0f}/s for {r.minutes:g} min"
        + (f" (half the measured maximum, {r.max_eps:,.0f}/s)" if r.max_eps else ""),
        f"  {'':<26} {'':>12} {'':>10} {'':>10} {'slope per minute':^25}",
        f"  {'series':<26} {warm:>12} {'half time':>10} {'at the end':>10} "
        f"{'from ' + warm[6:]:>12} {'2nd half':>12}",
    ]
    for name in sorted(r.slopes):
        lines.append(
            f"  {name:<26} {r.first[name]:>12,.1f} {r.middle[name]:>10,.1f} {r.last[name]:>10,.1f} "
            f"{r.slopes[name]:>+12.3f} {r.second_half[name]:>+12.3f}"
        )
    if r.broker_drops:
        lines.append(
            f"  the broker dropped the publisher {r.broker_drops} time(s) (restarted by someone "
            f"else?); {r.unconfirmed:,} event(s) went unconfirmed"
        )
    lines.append(json.dumps(asdict(r)))
    return "\n".join(lines)
