"""One export in a process of its own, so its memory can be measured alone (``bench people``).

``python -m consumers.bench.export_child MODE LIMIT FILE`` exports the benchmark documents below
``LIMIT`` to ``FILE`` as CSV and prints one JSON line: seconds, rows, and the resident set size
(RSS) when the export started and at its peak. MODE ``pit`` is authstream's export engine; ``naive``
is how exports worked before it (``search_after`` on ``user_id`` without a point in time, whole
documents), the baseline.
"""

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from consumers.bench.profiles import user_id
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.segments.export import CsvSink, consent_filter, export_members
from consumers.store import elastic

NAIVE_PAGE = 1_000


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size now (VmRSS) or at its peak so far (VmHWM), from /proc."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def naive_members(
    es: AsyncElasticsearch, index: str, query: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    after: list[Any] | None = None
    while True:
        page = await es.search(
            index=index, query=query, size=NAIVE_PAGE, sort=[{"user_id": "asc"}], search_after=after
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield hit["_source"]
        if len(hits) < NAIVE_PAGE:
            return
        after = hits[-1]["sort"]


async def run(mode: str, limit: int, path: str) -> dict[str, float]:
    settings = Settings()
    index = Names(settings.name_prefix).users_alias
    query = {"range": {"user_id": {"lt": user_id(limit)}}}
    async with elastic.connect(settings) as es:
        await es.cluster.health()  # connected before the clock starts
        with open(path, "w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 (a benchmark)
            sink = CsvSink(out)
            started_rss = rss_mb()
            peak = [started_rss]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.05):
                    peak[0] = max(peak[0], rss_mb())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            rows = 0
            if mode == "pit":
                report = await export_members(es, index, query, sink, "opt-out")
                rows = report.exported
            else:
                exportable = {"bool": {"filter": [query, consent_filter("opt-out")]}}
                async for profile in naive_members(es, index, exportable):
                    sink.write(profile)
                    rows += 1
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
    # VmHWM, not getrusage's ru_maxrss: that one starts from the parent's peak at fork.
    return {
        "seconds": seconds,
        "rows": rows,
        "rss_start_mb": started_rss,
        "rss_peak_mb": max(peak[0], rss_mb("VmHWM")),
    }


def main() -> None:
    mode, limit, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(orjson.dumps(asyncio.run(run(mode, limit, path))).decode())


if __name__ == "__main__":
    main()
