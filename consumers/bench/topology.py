"""``authstream bench topology``: what the broker spends per raw event, fan-out vs derived events.

Before the enrich issue every raw event was bound into four queues (index, enrich, sentiment,
segments) though only the index stage consumed; now only the index stage gets raw events and the
others get derived events when they have work. Both layouts run the same workload through the
publish path into a real ``authstream run --stage index``, and RabbitMQ's CPU is read from
``/proc`` for the whole run (publish, route, deliver, ack). The last line is JSON.
"""

import io
import json
import time
from dataclasses import asdict, dataclass

import orjson

from consumers.bench.cpu import CpuMeter, service_pids
from consumers.bench.indexer import (
    _wait_for_settled,
    throwaway_setups,
    worker_process,
)
from consumers.bench.workfile import workload
from consumers.broker import admin
from consumers.broker.publisher import publish_stream
from consumers.core.names import Names
from consumers.core.settings import Settings

# The bindings of the fan-out topology this version replaced (index got "#" as it still does).
FAN_OUT = {
    "enrich": ("auth.signup", "auth.login", "user.updated"),
    "sentiment": ("auth.signup", "auth.login", "profile.enriched"),
    "segments": ("auth.#", "user.#", "behavior.#", "profile.#"),
}


@dataclass
class LayoutRun:
    layout: str
    events: int
    queues_per_raw_event: int
    seconds: float
    rabbitmq_cpu_ms_per_event: float | None
    elasticsearch_cpu_ms_per_event: float | None
    worker_cpu_ms_per_event: float | None


async def _add_fan_out(settings: Settings) -> None:
    names = Names(settings.name_prefix)
    async with admin.connect(settings, name="bench fan-out") as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(names.exchange)
        for stage, keys in FAN_OUT.items():
            queue = await channel.declare_queue(
                names.work_queue(stage),
                durable=True,
                arguments={"x-queue-type": settings.queue_type},
            )
            for key in keys:
                await queue.bind(exchange, key)


async def _remove_fan_out(settings: Settings) -> None:
    names = Names(settings.name_prefix)
    async with admin.connect(settings, name="bench fan-out cleanup") as connection:
        channel = await connection.channel()
        for stage in FAN_OUT:
            await channel.queue_delete(names.work_queue(stage))


async def _measure(settings: Settings, layout: str, lines: list[bytes], queues: int) -> LayoutRun:
    body = b"\n".join(lines)
    services = service_pids(settings.amqp_url.get_secret_value(), settings.elasticsearch_url)
    with worker_process(settings) as (process, port):
        await _wait_for_settled(port, 0, process)
        meter = CpuMeter({**services, "worker": process.pid}).start()
        started = time.perf_counter()
        report = await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
        if not report.ok:
            raise RuntimeError(f"{len(report.failures)} events were not published")
        await _wait_for_settled(port, len(lines), process)
        seconds = time.perf_counter() - started
        meter.stop()
    per_event = meter.per_event_ms(len(lines))
    return LayoutRun(
        layout,
        len(lines),
        queues,
        round(seconds, 2),
        per_event.get("rabbitmq"),
        per_event.get("elasticsearch"),
        per_event.get("worker"),
    )


async def run_topology_bench(settings: Settings, events: int) -> list[LayoutRun]:
    lines = [orjson.dumps(e) for e in workload(events)]
    async with throwaway_setups(settings, "fanout", "derived") as phases:
        fan_out = phases["fanout"]
        await _add_fan_out(fan_out)
        try:
            before = await _measure(fan_out, "fan-out (before)", lines, 1 + len(FAN_OUT))
        finally:
            await _remove_fan_out(fan_out)
        after = await _measure(phases["derived"], "derived events (after)", lines, 1)
    return [before, after]


def format_topology(runs: list[LayoutRun]) -> str:
    rows = [
        f"{r.layout:<24} {r.queues_per_raw_event} queue(s)/raw event  "
        f"RabbitMQ {r.rabbitmq_cpu_ms_per_event} ms/event  "
        f"Elasticsearch {r.elasticsearch_cpu_ms_per_event} ms/event  "
        f"worker {r.worker_cpu_ms_per_event} ms/event  ({r.events:,} events in {r.seconds} s)"
        for r in runs
    ]
    before, after = runs
    if before.rabbitmq_cpu_ms_per_event and after.rabbitmq_cpu_ms_per_event:
        ratio = after.rabbitmq_cpu_ms_per_event / before.rabbitmq_cpu_ms_per_event
        rows.append(f"broker CPU per raw event: {ratio:.2f} of the fan-out's")
    rows.append(json.dumps([asdict(r) for r in runs]))
    return "\n".join(rows)
