"""``authstream demo``: a synthetic InnovaShoes tenant, end to end, then the campaign segments.

Realistic Auth0 profiles over facebook, google-oauth2, twitter and database connections, signups
spread over six months, logins, a share who never came back and a share who refused marketing —
published through the normal publish path and indexed by the real indexer. Event ids are derived
from the seed, so running the demo again changes nothing (exactly-once effect, visibly).
"""

import asyncio
import io
import sys
import time
from typing import Any

import orjson

from consumers.broker.publisher import publish_stream
from consumers.cli import segments as segments_cli
from consumers.cli.setup import run_setup
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.demo.synthetic import synthetic_tenant
from consumers.pipeline.run import run_stages
from consumers.segments.definitions import load_segments
from consumers.stages.catalog import enabled_stages
from consumers.store import elastic


async def _indexed(settings: Settings, event_ids: list[str]) -> int:
    """How many of these events are searchable."""
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        not_yet = es.options(ignore_status=elastic.NOT_YET_SEARCHABLE)
        await not_yet.indices.refresh(index=names.events_stream)
        found = await not_yet.count(index=names.events_stream, query={"ids": {"values": event_ids}})
        return int(found.get("count", 0))


async def run_demo(settings: Settings, users: int, out: Any = None) -> None:
    out = out or sys.stdout
    await run_setup(settings)
    events = synthetic_tenant(users)
    body = b"\n".join(orjson.dumps(e) for e in events)
    print(f"InnovaShoes demo: {users:,} customers, {len(events):,} events", file=out)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_stages(settings, enabled_stages(settings), stop))
    started = time.monotonic()
    report = await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
    print(f"published {report.published:,} events through RabbitMQ", file=out)
    event_ids = [e["event_id"] for e in events]
    while (done := await _indexed(settings, event_ids)) < len(events):
        if worker.done():
            await worker  # surfaces the worker's error
        if time.monotonic() - started > 300:
            raise RuntimeError(f"only {done:,} of {len(events):,} events indexed after 300 s")
        await asyncio.sleep(0.5)
    stop.set()
    await worker
    print(f"indexed {len(events):,} events in {time.monotonic() - started:.1f} s\n", file=out)
    async with elastic.connect(settings) as es:
        await es.indices.refresh(index=Names(settings.name_prefix).users_alias)
    for name in load_segments(settings.segments_dir):
        print(await segments_cli.segment_report(settings, name, {}, size=3), file=out)
        print(file=out)
    print(
        "Try: authstream segments export preorder-running-men --format csv --output men.csv",
        file=out,
    )
