"""Exports of a segment's members at any size: CSV (safe to open in a spreadsheet) or JSON lines.

The engine takes an Elasticsearch query, so it does not care how segments are defined. It opens a
point in time (PIT), so the export is one consistent snapshot however long it takes and however
the profiles change meanwhile, and reads it in ``search_after`` pages sorted by ``_shard_doc``
(the cheapest order a PIT offers), asking for the next page while it writes the current one.
Only the fields the chosen columns read are fetched, and only one page is held at a time: memory
stays flat whatever the size of the segment.

Consent is applied here, whatever the segment says: the ``opt-out`` policy exports everyone but
those who refused marketing, ``opt-in`` only those who granted it. The report says how many were
left out and why, counted in the same snapshot.
"""

import asyncio
import contextlib
import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TextIO

import elasticsearch
import orjson
from elasticsearch import AsyncElasticsearch

from consumers.segments.columns import DEFAULT_COLUMNS, csv_text, row, source_fields

ConsentPolicy = Literal["opt-out", "opt-in"]
COLUMNS = DEFAULT_COLUMNS  # what exports held before columns could be chosen
PAGE_SIZE = 2_000
KEEP_ALIVE = "2m"  # how long the PIT lives between two pages (renewed by every page)
# Who each policy exports, by consent state; a profile without a state counts as "unknown".
EXPORTED_STATES: dict[str, tuple[str, ...]] = {
    "opt-out": ("granted", "unknown"),
    "opt-in": ("granted",),
}
LEFT_OUT_BECAUSE = {
    "refused": "refused marketing",
    "unknown": "no consent recorded (opt-in policy)",
}

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formula injection (CSV injection) by prefixing a quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def row_of(profile: dict[str, Any]) -> dict[str, Any]:
    """The default columns as text (lists joined by ';'), for tables and samples."""
    return {c: (None if v is None else csv_text(v)) for c, v in row(profile, COLUMNS).items()}


class Sink(Protocol):
    columns: tuple[str, ...]

    def write(self, profile: dict[str, Any]) -> None: ...


class CsvSink:
    """CSV with a header row; every cell is formula-safe. ``bom``: a UTF-8 byte order mark
    first, so Excel reads accents right."""

    def __init__(self, out: TextIO, columns: Sequence[str] = COLUMNS, bom: bool = False) -> None:
        self.columns = tuple(columns)
        if bom:
            out.write("\ufeff")
        self.writer = csv.writer(out)
        self.writer.writerow(self.columns)

    def write(self, profile: dict[str, Any]) -> None:
        values = row(profile, self.columns)
        self.writer.writerow(safe_cell(csv_text(values[c])) for c in self.columns)


class JsonlSink:
    """One JSON object per member (by default at least ``user_id``, ``email`` and ``name``),
    values typed: interests are a list, logins a number."""

    def __init__(self, out: TextIO, columns: Sequence[str] = COLUMNS) -> None:
        self.columns = tuple(columns)
        self.out = out

    def write(self, profile: dict[str, Any]) -> None:
        self.out.write(orjson.dumps(row(profile, self.columns)).decode() + "\n")


SINKS: dict[str, type[CsvSink] | type[JsonlSink]] = {"csv": CsvSink, "jsonl": JsonlSink}


def consent_filter(policy: ConsentPolicy) -> dict[str, Any]:
    """Who may be exported under the policy."""
    if policy == "opt-in":
        return {"term": {"marketing_consent": "granted"}}
    return {"bool": {"must_not": [{"term": {"marketing_consent": "refused"}}]}}


@dataclass
class ExportReport:
    policy: ConsentPolicy
    matched: int = 0  # members of the segment in the snapshot
    exported: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # reason → members

    def summary(self, label: str, where: str = "") -> str:
        """``exported 4 of 5 member(s) of NAME to FILE; 1 left out (refused marketing); ...``"""
        text = f"exported {self.exported:,} of {self.matched:,} member(s) of {label}{where}"
        if self.left_out:
            total = sum(self.left_out.values())
            reasons = sorted(self.left_out.items())
            why = (
                reasons[0][0]
                if len(reasons) == 1
                else ", ".join(f"{n:,} {reason}" for reason, n in reasons)
            )
            text += f"; {total:,} left out ({why})"
        return text + f"; consent policy {self.policy}"


Progress = Callable[[int, int], None]  # (written so far, expected in all)


async def _count_by_consent(
    es: AsyncElasticsearch, pit: dict[str, str], query: dict[str, Any]
) -> tuple[dict[str, int], str]:
    found = await es.search(
        pit=pit,
        query=query,
        size=0,
        track_total_hits=True,
        aggs={"consent": {"terms": {"field": "marketing_consent", "missing": "unknown"}}},
    )
    buckets = found["aggregations"]["consent"]["buckets"]
    return {b["key"]: b["doc_count"] for b in buckets}, found.get("pit_id", pit["id"])


async def export_members(
    es: AsyncElasticsearch,
    index: str,
    query: dict[str, Any],
    sink: Sink,
    policy: ConsentPolicy,
    *,
    page_size: int | None = None,
    keep_alive: str = KEEP_ALIVE,
    on_progress: Progress | None = None,
) -> ExportReport:
    """Write every member the policy allows to ``sink``; say how many were left out and why."""
    page_size = page_size or PAGE_SIZE
    opened = await es.open_point_in_time(index=index, keep_alive=keep_alive)
    pit_id: str = opened["id"]
    report = ExportReport(policy)
    pending: asyncio.Future[Any] | None = None
    try:
        pit = {"id": pit_id, "keep_alive": keep_alive}
        by_state, pit_id = await _count_by_consent(es, pit, query)
        report.matched = sum(by_state.values())
        allowed = EXPORTED_STATES[policy]
        report.left_out = {
            LEFT_OUT_BECAUSE.get(state, state): n
            for state, n in by_state.items()
            if state not in allowed and n
        }
        expected = sum(n for state, n in by_state.items() if state in allowed)
        exportable = {"bool": {"filter": [query, consent_filter(policy)]}}
        fields = source_fields(sink.columns)

        def fetch(after: list[Any] | None, pit: str) -> "asyncio.Future[Any]":
            return asyncio.ensure_future(
                es.search(
                    pit={"id": pit, "keep_alive": keep_alive},
                    query=exportable,
                    size=page_size,
                    sort=[{"_shard_doc": "asc"}],
                    search_after=after,
                    source_includes=fields,
                    track_total_hits=False,
                )
            )

        pending = fetch(None, pit_id)
        while pending is not None:
            page = await pending
            pending = None
            pit_id = page.get("pit_id", pit_id)
            hits = page["hits"]["hits"]
            if len(hits) == page_size:  # ask for the next page while this one is written
                pending = fetch(hits[-1]["sort"], pit_id)
            for hit in hits:
                sink.write(hit["_source"])
            report.exported += len(hits)
            if on_progress is not None:
                on_progress(report.exported, expected)
        return report
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        # The PIT would expire by itself after keep_alive: a failed close is not worth an error.
        with contextlib.suppress(elasticsearch.ApiError, elasticsearch.TransportError):
            await es.options(ignore_status=404).close_point_in_time(id=pit_id)
