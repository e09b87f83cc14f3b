"""Log Stream reconciliation: the tenant logs the stream missed, read from the Management API.

Auth0 retries a failing delivery until it succeeds, but pauses a stream that failed for days, and
logs written before the stream existed never reach it. Reconciliation reads
``/api/v2/logs?from=<log_id>&take=100`` (in ``log_id`` order, following ``Link: rel="next"``)
from the newer of two points: the last log it read itself (``auth0:logs:cursor`` in
``store.state``) and the newest log the stream delivered that is indexed (the highest
``event.id`` of the ``auth0-log-stream`` events: nothing to keep on the ingest path). With
neither, it starts at the oldest log Auth0 still keeps. Logs already indexed are skipped; the rest
go through the same mapping as ingest and are published with confirms; then the cursor moves.
Duplicates are harmless anyway: ``event_id`` is the ``log_id``.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from consumers.auth0 import default_tenant, history_only_families
from consumers.auth0.client import ManagementClient
from consumers.broker.publisher import Publisher, open_publisher
from consumers.core.errors import BrokerUnavailable, InvalidEvent
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.ingest.auth0_logs import SOURCE, as_json, envelope_from
from consumers.pipeline.decode import decode_event
from consumers.store.elastic import NOT_YET_SEARCHABLE
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.auth0")

STATE_KEY = "auth0:logs:cursor"
TAKE = 100  # the most Auth0 gives per page
DELIVERED_BY = "management-api"


@dataclass
class LogsReport:
    started_from: str | None = None
    cursor: str | None = None
    read: int = 0
    already_indexed: int = 0
    published: int = 0
    rejected: list[str] = field(default_factory=list)
    more: bool = False  # stopped at the page limit: the next run continues


async def newest_streamed(es: AsyncElasticsearch, names: Names) -> str | None:
    """The highest log_id among indexed Log Stream events (log_ids sort as text)."""
    found = await es.options(ignore_status=NOT_YET_SEARCHABLE).search(
        index=names.events_stream,
        query={"term": {"event.dataset": SOURCE}},
        sort=[{"event.id": "desc"}],
        size=1,
        source=False,
    )
    hits = found.get("hits", {}).get("hits", [])
    return str(hits[0]["_id"]) if hits else None


async def indexed(es: AsyncElasticsearch, names: Names, ids: list[str]) -> set[str]:
    found = await es.options(ignore_status=NOT_YET_SEARCHABLE).search(
        index=names.events_stream, query={"ids": {"values": ids}}, size=len(ids), source=False
    )
    return {hit["_id"] for hit in found.get("hits", {}).get("hits", [])}


async def _publish(
    logs: list[dict[str, Any]], publisher: Publisher, settings: Settings, report: LogsReport
) -> None:
    tenant, history_only = default_tenant(settings), history_only_families(settings)
    for entry in logs:
        try:
            record = {"log_id": entry.get("log_id"), "data": entry}
            envelope = envelope_from(record, tenant, history_only)
            envelope["data"]["delivered_by"] = DELIVERED_BY
            body = as_json(envelope)
            event = decode_event(body, settings.max_event_bytes)
        except InvalidEvent as exc:
            report.rejected.append(exc.reason)
            continue
        await publisher.publish(report.read, event, body)
    await publisher.drain()
    if publisher.report.failures:
        raise BrokerUnavailable(publisher.report.failures[0][1])
    report.published = publisher.report.published


async def reconcile_logs(
    settings: Settings,
    es: AsyncElasticsearch,
    client: ManagementClient,
    max_pages: int | None = None,
) -> LogsReport:
    """Publish the logs the stream missed since the last reconciliation; what it did."""
    names = Names(settings.name_prefix)
    state = StateStore(es, names)
    report = LogsReport()
    own = (await state.get(STATE_KEY) or {}).get("log_id")
    streamed = await newest_streamed(es, names)
    start = max((c for c in (own, streamed) if c), default=None)
    async with open_publisher(settings) as publisher:
        if start is None:  # never reconciled, nothing streamed: from the oldest log kept
            oldest = await client.oldest_log()
            if oldest is None:
                return report
            start = report.cursor = str(oldest["log_id"])
            await _handle([oldest], publisher, es, names, settings, report)
            await state.put(STATE_KEY, {"log_id": start, "at": datetime.now(UTC).isoformat()})
        report.started_from = following = start
        for _ in range(max_pages or settings.auth0_logs_max_pages):
            logs, following = await client.logs_after(following, TAKE)
            if not logs:
                break
            await _handle(logs, publisher, es, names, settings, report)
            report.cursor = str(logs[-1]["log_id"])
            await state.put(
                STATE_KEY, {"log_id": report.cursor, "at": datetime.now(UTC).isoformat()}
            )
            if len(logs) < TAKE:
                break
        else:
            report.more = True
    if report.published or report.rejected:
        log.info(
            "Log Stream reconciled",
            read=report.read,
            published=report.published,
            rejected=len(report.rejected),
            cursor=report.cursor,
        )
    return report


async def _handle(
    logs: list[dict[str, Any]],
    publisher: Publisher,
    es: AsyncElasticsearch,
    names: Names,
    settings: Settings,
    report: LogsReport,
) -> None:
    ids = [str(entry.get("log_id")) for entry in logs if entry.get("log_id")]
    known = await indexed(es, names, ids) if ids else set()
    report.read += len(logs)
    report.already_indexed += len(known)
    missed = [entry for entry in logs if str(entry.get("log_id")) not in known]
    if missed:
        await _publish(missed, publisher, settings, report)
