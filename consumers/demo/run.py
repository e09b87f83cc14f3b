"""``authstream demo``: a synthetic InnovaShoes tenant, end to end, then the campaign segments.

Realistic Auth0 profiles over facebook, google-oauth2, twitter and database connections, signups
spread over six months, logins, a share who never came back and a share who refused marketing —
published through the normal publish path and indexed by the real indexer. What the Twitter users
say about the brand is imported as mentions (`authstream mentions import`) and scored by the real
sentiment stage (without asking X: the handles are made up). Event and post ids are derived from
the seed, so running the demo again changes nothing (exactly-once effect, visibly).
"""

import asyncio
import io
import sys
import time
from typing import Any

import orjson

from consumers.broker import admin
from consumers.broker.publisher import publish_stream
from consumers.cli import segments as segments_cli
from consumers.cli.setup import run_setup
from consumers.core.errors import PermanentError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.demo.synthetic import synthetic_mentions, synthetic_tenant
from consumers.pipeline.run import run_stages
from consumers.segments.definitions import load_segments
from consumers.sentiment.importer import import_mentions
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


async def _waiting(settings: Settings, stages: list[str]) -> int:
    """Messages still waiting in the work queues of these stages (derived work included)."""
    names = Names(settings.name_prefix)
    async with admin.connect(settings, name="authstream demo") as connection:
        loads = [await admin.queue_load(connection, names.work_queue(s)) for s in stages]
    return sum(messages for messages, _ in loads)


async def _left_after_stop(settings: Settings, stages: list[str]) -> int:
    """Messages in these stages' work queues once their consumers are gone (their channels close
    asynchronously; until then, messages they held are not counted as ready)."""
    names = Names(settings.name_prefix)
    deadline = time.monotonic() + 15
    async with admin.connect(settings, name="authstream demo") as connection:
        while True:
            loads = [await admin.queue_load(connection, names.work_queue(s)) for s in stages]
            if all(consumers == 0 for _, consumers in loads) or time.monotonic() > deadline:
                return sum(messages for messages, _ in loads)
            await asyncio.sleep(0.2)


async def _sentiment_pending(settings: Settings, expected: dict[str, int]) -> int:
    """Twitter customers whose profile does not show the sentiment of their mentions yet."""
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        await es.indices.refresh(index=names.users_alias)
        found = await es.search(
            index=names.users_alias,
            query={"exists": {"field": "twitter_handle"}},
            source_includes=["twitter_handle", "sentiment.mentions"],
            size=10_000,
        )
    hits = [hit["_source"] for hit in found["hits"]["hits"]]
    return sum(
        1
        for p in hits
        if (p.get("sentiment") or {}).get("mentions") != expected.get(p["twitter_handle"], 0)
    )


async def _evidence(settings: Settings, size: int = 3) -> str:
    """What the unhappiest Twitter customers said: the evidence a marketer reaches out with."""
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        found = await es.search(
            index=names.users_alias,
            query=load_segments()["negative-twitter-sentiment"].render(),
            sort=[{"sentiment.score": "asc"}, {"user_id": "asc"}],
            size=size,
        )
    lines = ["Why they are in negative-twitter-sentiment (their most negative post):"]
    for hit in found["hits"]["hits"]:
        summary = hit["_source"]["sentiment"]
        worst = (summary.get("evidence") or [{}])[0]
        said = f"{worst.get('text', '')!r} {worst.get('url', '')}"
        lines.append(
            f"  @{summary.get('handle')}  score {summary.get('score', 0):+.2f} over "
            f"{summary.get('mentions', 0)} mention(s): {said}"
        )
    return "\n".join(lines) + "\n"


def demo_settings(settings: Settings) -> Settings:
    """The demo's tenant is InnovaShoes, and its Twitter handles are made up: never ask X."""
    return settings.model_copy(
        update={"brand_handle": settings.brand_handle or "InnovaShoes", "x_bearer_token": None}
    )


WAIT_S = 300.0  # for the events and the sentiment summaries
SETTLE_S = 600.0  # for every stage's derived work


class DemoIncomplete(PermanentError):
    """The stages did not finish the demo's work in time: said in words, exit 2, no traceback."""


def _gave_up(what: str, seconds: float) -> DemoIncomplete:
    return DemoIncomplete(
        f"the demo gave up waiting after {seconds:.0f} s: {what}; `authstream dlq list --stage "
        "STAGE` shows whatever a stage parked, and a run that was interrupted or changed "
        "settings on this AUTHSTREAM_NAME_PREFIX may need a fresh prefix"
    )


async def _until(what: str, pending: Any, worker: "asyncio.Task[None]", started: float) -> None:
    while (left := await pending()) > 0:
        if worker.done():
            await worker  # surfaces the worker's error
        if time.monotonic() - started > WAIT_S:
            raise _gave_up(f"{left:,} {what} still missing", WAIT_S)
        await asyncio.sleep(0.5)


async def run_demo(settings: Settings, users: int, out: Any = None) -> None:
    out = out or sys.stdout
    settings = demo_settings(settings)
    await run_setup(settings)
    events = synthetic_tenant(users)
    mentions = synthetic_mentions(events)
    body = b"\n".join(orjson.dumps(e) for e in events)
    print(f"InnovaShoes demo: {users:,} customers, {len(events):,} events", file=out)
    stages = enabled_stages(settings)
    scoring = "sentiment" in {spec.name for spec in stages}
    stop = asyncio.Event()
    worker = asyncio.create_task(run_stages(settings, stages, stop))
    started = time.monotonic()
    report = await publish_stream(io.BytesIO(body), settings, total_bytes=len(body))
    print(f"published {report.published:,} events through RabbitMQ", file=out)
    expected: dict[str, int] = {}
    if scoring:
        lines = b"\n".join(orjson.dumps(m) for m in mentions)
        imported = await import_mentions(io.BytesIO(lines), settings)
        customers = {e["user"].get("screen_name") for e in events if e["type"] == "auth.signup"}
        for mention in mentions:
            if mention["handle"] in customers:
                expected[mention["handle"]] = expected.get(mention["handle"], 0) + 1
        print(
            f"imported {imported.published:,} brand mentions for the sentiment stage "
            f"({len(mentions) - sum(expected.values())} by people who are not customers yet)",
            file=out,
        )
    else:
        print("the sentiment stage is off (AUTHSTREAM_STAGES): no mentions scored", file=out)
    event_ids = [e["event_id"] for e in events]

    async def not_indexed() -> int:
        return len(events) - await _indexed(settings, event_ids)

    async def not_scored() -> int:
        return await _sentiment_pending(settings, expected) if scoring else 0

    queues = [s.name for s in stages]
    try:
        await _until("events to index", not_indexed, worker, started)
        await _until("sentiment summaries", not_scored, worker, started)
        while True:
            # The other stages' work, derived from those events, is done too: nothing waits.
            while waiting := await _waiting(settings, queues):
                if worker.done():
                    await worker
                if time.monotonic() - started > SETTLE_S:
                    raise _gave_up(f"{waiting:,} message(s) still waiting in the stages", SETTLE_S)
                await asyncio.sleep(0.5)
            stop.set()
            await worker
            # Exact only now: a stage stopping mid-batch publishes its findings to queues whose
            # consumers have stopped, and messages in flight count as ready once consumers go.
            if not await _left_after_stop(settings, queues):
                break
            stop = asyncio.Event()
            worker = asyncio.create_task(run_stages(settings, stages, stop))
    finally:  # the stages stop cleanly whether the demo finished or gave up
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
    await worker  # its own error, if it had one
    print(f"indexed {len(events):,} events in {time.monotonic() - started:.1f} s\n", file=out)
    async with elastic.connect(settings) as es:
        await es.indices.refresh(index=Names(settings.name_prefix).users_alias)
    for name in load_segments(settings.segments_dir):
        print(await segments_cli.segment_report(settings, name, {}, size=3), file=out)
        print(file=out)
    if scoring:
        print(await _evidence(settings), file=out)
    print(
        "Try: authstream segments export preorder-running-men --format csv --output men.csv",
        file=out,
    )
