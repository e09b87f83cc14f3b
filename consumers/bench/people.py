"""``authstream bench people``: finding people at a million profiles, against baselines.

Under a throwaway name prefix (deleted at the end, also on failure), synthetic profiles
(``bench.profiles``) are bulk-loaded straight into a users index made by the real layout, in
``steps`` equal parts; after each part it measures, with the figure each is held to and the
baseline measured beside it in the same run:

* each built-in segment's **count** (p95 ≤ 200 ms), beside counting everything (``match_all``):
  what any count costs on this node. The shard request cache is off, so every count is computed;
* an **export** of 100,000 members (≤ 10 s, memory flat), by the export engine in a process of
  its own (RSS at the start and at the peak, also for a tenth of the members: flat means the
  same), beside the export as it was before (``search_after`` on user_id, no point in time,
  whole documents);
* **search** (p95 ≤ 100 ms) over a mix of names, surnames, typos, prefixes, emails and interests,
  by the code ``authstream search`` runs, beside a plain ``match`` of the same words (no prefixes,
  no typo tolerance).

The last line printed is one JSON object with every figure.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from consumers.bench import profiles
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.people.search import search_people
from consumers.profile.searchable import query_words
from consumers.segments.definitions import load_segments
from consumers.store import elastic
from consumers.store.provision import provision_elasticsearch, remove_search_layout

TARGETS = {"count_p95_ms": 200.0, "export_s": 10.0, "search_p95_ms": 100.0}
TEMPLATES = 5_000
COUNT_RUNS, SEARCH_RUNS, WARMUP = 30, 10, 3
BULK_CHUNK = 1_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    max_ms: float
    runs: int
    first_ms: float  # the first run, with the node's caches for this index cleared

    @classmethod
    def of(cls, millis: list[float], first: float) -> "Timing":
        return cls(
            round(percentile(millis, 0.5), 1),
            round(percentile(millis, 0.95), 1),
            round(max(millis), 1),
            len(millis),
            round(first, 1),
        )


@dataclass
class Step:
    profiles: int
    load_s: float
    load_per_s: float
    store_mb: float
    count_floor: Timing
    counts: dict[str, Timing]
    members: dict[str, int]
    search: Timing
    search_broad: Timing  # the interest queries: hundreds of thousands of matches
    search_baseline: Timing
    export: dict[str, float] = field(default_factory=dict)
    export_tenth: dict[str, float] = field(default_factory=dict)
    export_naive: dict[str, float] = field(default_factory=dict)


def search_mix() -> tuple[list[str], list[str]]:
    """(people queries, broad interest queries)."""
    generated = [profiles.surname(k) for k in (1, 4_321, 20_002)]
    typo = generated[1][:2] + generated[1][3:]  # a letter dropped
    people = [
        "chloe", "chloé dubois", "sofia garcia", "garcia", "muller", "mueller", "bjorn",
        "tanaka hiro", "nguyen", "okafor", "kowalski", "dubios", "zoe o'brien", "liam smith",
        "emma", "em", "liam.smith", *generated, typo, generated[2][:5],
    ]  # fmt: skip
    broad = ["running", "fitness portland", "music"]
    return people, broad


async def _times(call: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    """``WARMUP`` runs, then ``runs`` timed ones (milliseconds, the client's whole round trip)."""
    for _ in range(WARMUP):
        await call()
    millis = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        millis.append((time.perf_counter() - started) * 1000)
    return millis


async def _cold(es: AsyncElasticsearch, index: str, call: Callable[[], Awaitable[Any]]) -> float:
    """One run after clearing this index's query and request caches."""
    await es.indices.clear_cache(index=index, query=True, request=True)
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def _timing(
    es: AsyncElasticsearch, index: str, calls: list[Callable[[], Awaitable[Any]]], runs: int
) -> Timing:
    first = max([await _cold(es, index, call) for call in calls])
    return Timing.of([ms for call in calls for ms in await _times(call, runs)], first)


async def _count(es: AsyncElasticsearch, index: str, query: dict[str, Any]) -> int:
    found = await es.search(
        index=index, query=query, size=0, track_total_hits=True, request_cache=False
    )
    return int(found["hits"]["total"]["value"])


async def _load(
    es: AsyncElasticsearch, index: str, start: int, stop: int, models: list[dict[str, Any]]
) -> None:
    actions = (
        {"_index": index, "_id": doc["user_id"], "_source": doc}
        for doc in profiles.documents(start, stop, models)
    )
    with warnings.catch_warnings():
        # aiohttp warns that sending a body of megabytes blocks the event loop a moment: the
        # loader's loop has nothing else to do, and megabyte bulks are what Elasticsearch likes.
        warnings.filterwarnings("ignore", message="Sending a large body directly")
        async for ok, item in async_streaming_bulk(
            es, actions, chunk_size=BULK_CHUNK, max_chunk_bytes=8 * 1024 * 1024
        ):
            if not ok:
                raise RuntimeError(f"bulk item failed: {item}")


def _export(settings: Settings, mode: str, limit: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {
            "AUTHSTREAM_NAME_PREFIX": settings.name_prefix,
            "AUTHSTREAM_ELASTICSEARCH_URL": settings.elasticsearch_url,
        }
        done = subprocess.run(  # noqa: S603 (our own module, our own arguments)
            [sys.executable, "-m", "consumers.bench.export_child", mode, str(limit),
             os.path.join(folder, "members.csv")],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) for k, v in figures.items()}


async def _measure(
    es: AsyncElasticsearch, settings: Settings, size: int, export_members: int, naive: bool
) -> Step:
    index = Names(settings.name_prefix).users_alias
    segments = {s.name: s.render() for s in load_segments().values()}
    floor = await _timing(es, index, [lambda: _count(es, index, {"match_all": {}})], COUNT_RUNS)
    counts = {
        name: await _timing(es, index, [partial(_count, es, index, query)], COUNT_RUNS)
        for name, query in segments.items()
    }
    members = {name: await _count(es, index, query) for name, query in segments.items()}
    people, broad = search_mix()

    def searches(texts: list[str]) -> list[Callable[[], Awaitable[Any]]]:
        return [partial(search_people, es, index, text, 20) for text in texts]

    def plain(text: str) -> Awaitable[Any]:
        words = " ".join(query_words(text))
        return es.search(
            index=index, query={"match": {"search": {"query": words, "operator": "and"}}}, size=20
        )

    searched = await _timing(es, index, searches(people), SEARCH_RUNS)
    wide = await _timing(es, index, searches(broad), SEARCH_RUNS)
    baseline = await _timing(es, index, [partial(plain, text) for text in people], SEARCH_RUNS)
    stats = await es.indices.stats(index=index, metric="store")
    store = stats["_all"]["primaries"]["store"]["size_in_bytes"] / 1e6
    step = Step(size, 0.0, 0.0, round(store, 1), floor, counts, members, searched, wide, baseline)
    members_exported = min(export_members, profiles.exported_below(size))
    limit = profiles.range_exporting(members_exported)
    step.export = _export(settings, "pit", limit)
    step.export_tenth = _export(settings, "pit", profiles.range_exporting(members_exported // 10))
    if naive:
        step.export_naive = _export(settings, "naive", limit)
    return step


@dataclass
class PeopleBench:
    index: str  # the throwaway index, deleted when the run ends
    steps: list[Step]


async def run_people_bench(
    settings: Settings, total: int, steps: int, export_members: int, say: Callable[[str], None]
) -> PeopleBench:
    bench = settings.model_copy(update={"name_prefix": f"bench{uuid.uuid4().hex[:6]}-people-"})
    index = Names(bench.name_prefix).users_alias
    results: list[Step] = []
    async with elastic.connect(bench) as es:
        try:
            await provision_elasticsearch(es, bench)
            say(f"folding {TEMPLATES:,} template profiles from the demo's synthetic tenant")
            models = profiles.templates(TEMPLATES)
            loaded, spent = 0, 0.0
            for step in range(1, steps + 1):
                target = total * step // steps
                say(f"loading profiles {loaded:,} .. {target:,}")
                await es.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
                started = time.perf_counter()
                await _load(es, index, loaded, target, models)
                await es.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
                await es.indices.refresh(index=index)
                spent += time.perf_counter() - started
                loaded = target
                say(f"measuring at {loaded:,} profiles")
                figures = await _measure(es, bench, loaded, export_members, naive=step == steps)
                figures.load_s, figures.load_per_s = round(spent, 1), round(loaded / spent)
                results.append(figures)
                say(format_step(figures))
        finally:
            with contextlib.suppress(Exception):  # never leave a million documents behind
                await remove_search_layout(es, bench)
    return PeopleBench(index, results)


def _verdict(value: float, limit: float) -> str:
    return "ok" if value <= limit else "MISSED"


def _times_text(timing: Timing) -> str:
    return (
        f"p50 {timing.p50_ms:6.1f} ms  p95 {timing.p95_ms:6.1f} ms  "
        f"(caches cleared: {timing.first_ms:6.1f} ms)"
    )


def format_step(step: Step) -> str:
    count_target, search_target = TARGETS["count_p95_ms"], TARGETS["search_p95_ms"]
    lines = [
        f"{step.profiles:,} profiles  (loaded in {step.load_s:,.0f} s, {step.load_per_s:,}/s; "
        f"{step.store_mb:,.0f} MB on disk)",
        f"  count, baseline match_all        {_times_text(step.count_floor)}",
    ]
    for name, timing in step.counts.items():
        lines.append(
            f"  count {name:<27}{_times_text(timing)}  {step.members[name]:,} members; "
            f"target p95 ≤ {count_target:.0f}: {_verdict(timing.p95_ms, count_target)}"
        )
    lines += [
        f"  search (names, typos, prefixes)  {_times_text(step.search)}  target p95 ≤ "
        f"{search_target:.0f}: {_verdict(step.search.p95_ms, search_target)}",
        f"  search (broad: interests)        {_times_text(step.search_broad)}",
        f"  search baseline (plain match)    {_times_text(step.search_baseline)}",
    ]
    for label, figures in (
        ("export", step.export),
        ("export, a tenth", step.export_tenth),
        ("export baseline (before)", step.export_naive),
    ):
        if figures:
            rate = figures["rows"] / max(figures["seconds"], 1e-9)
            line = (
                f"  {label:<32} {figures['rows']:>9,.0f} rows in {figures['seconds']:6.2f} s "
                f"({rate:,.0f}/s)  RSS {figures['rss_start_mb']:.0f} → "
                f"{figures['rss_peak_mb']:.0f} MB"
            )
            if label == "export":
                line += f"  target ≤ {TARGETS['export_s']:.0f} s: "
                line += _verdict(figures["seconds"], TARGETS["export_s"])
            lines.append(line)
    return "\n".join(lines)


def format_people(bench: PeopleBench) -> str:
    summary = {"targets": TARGETS, "index": bench.index, "steps": [asdict(s) for s in bench.steps]}
    return "\n\n".join(format_step(s) for s in bench.steps) + "\n" + json.dumps(summary)
