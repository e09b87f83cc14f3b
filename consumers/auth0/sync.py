"""``authstream sync auth0``: every user of the tenant → ``user.updated`` events.

Users are read page by page (``auth0.users``: keyset-paged search, or the users-export job); each
page is published with confirms, then the position is stored in Elasticsearch (``store.state``,
key ``auth0:sync:users``). So an interrupted sync resumes where it stopped, and the next sync
starts where the last one ended and publishes only users changed since. A crash between a page's
confirms and its checkpoint publishes that page again: harmless, the ids are deterministic.

``auto`` counts the users to sync: fewer than search's 1,000-result cap → search, else the export
job (one job instead of many pages; the keyset walk would cover them too, ten times slower).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import structlog

from consumers.auth0 import auth0_config
from consumers.auth0.client import ManagementClient
from consumers.auth0.snapshot import user_updated, version_of
from consumers.auth0.users import (
    SEARCH_CAP,
    Cursor,
    Page,
    Recent,
    SearchCapReached,
    export_pages,
    range_query,
    search_pages,
)
from consumers.broker.publisher import Publisher, open_publisher
from consumers.core.errors import BrokerUnavailable, InvalidEvent
from consumers.core.names import Names
from consumers.core.progress import Progress
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.store import elastic
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.auth0")

STATE_KEY = "auth0:sync:users"
# Search results trail writes by a few seconds: the next sync looks back this far (the users
# it already published there are remembered, so they are not published again).
SEARCH_LAG = timedelta(minutes=2)
REJECTIONS_KEPT = 50

Method = Literal["auto", "search", "export"]


@dataclass
class SyncReport:
    method: str = ""
    resumed: bool = False
    taken: int = 0  # users read from Auth0
    published: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)  # the first rejections
    seconds: float = 0.0
    requests: int = 0
    rate_limited: int = 0
    cursor: str = ""  # the next sync publishes users updated from here on

    @property
    def unchanged(self) -> int:
        return self.taken - self.published - self.rejected

    def reject(self, reasons: list[str]) -> None:
        self.rejected += len(reasons)
        self.reasons += reasons[: max(0, REJECTIONS_KEPT - len(self.reasons))]


PageHook = Callable[[SyncReport], None]


@dataclass
class Run:
    """A sync under way, as stored in its checkpoint."""

    method: str
    start: Cursor
    position: dict[str, Any]
    recent: Recent
    started_at: str

    def to_json(self, report: SyncReport) -> dict[str, Any]:
        return {
            "method": self.method,
            "start": self.start.to_json(),
            "position": self.position,
            "recent": {"bound": self.recent.floor, "seen": self.recent.versions},
            "started_at": self.started_at,
            "published": report.published,
            "taken": report.taken,
        }


def _restore(raw: Any, lag: timedelta) -> Run | None:
    if not isinstance(raw, dict) or raw.get("method") not in ("search", "export"):
        return None
    start = Cursor.from_json(raw.get("start"))
    recent = Recent(Cursor.from_json(raw.get("recent")), lag)
    return Run(
        str(raw["method"]), start, dict(raw.get("position") or {}), recent, raw["started_at"]
    )


async def _publish_page(
    page: Page,
    publisher: Publisher,
    run: Run,
    report: SyncReport,
    settings: Settings,
    tenant: str | None,
) -> None:
    rejected = list(page.rejected)
    for user in page.users:
        user_id = str(user.get("user_id") or "?")
        try:
            body = orjson.dumps(user_updated(user, tenant, run.method))
            event = decode_event(body, settings.max_event_bytes)
        except InvalidEvent as exc:
            rejected.append(f"{user_id}: {exc.reason}")
            continue
        await publisher.publish(report.taken, event, body)
        run.recent.add(user_id, version_of(user))
    await publisher.drain()
    if publisher.report.failures:  # nothing is checkpointed that the broker did not confirm
        raise BrokerUnavailable(publisher.report.failures[0][1])
    report.published = publisher.report.published
    report.taken += page.taken
    report.reject(rejected)


async def sync_users(
    settings: Settings,
    method: Method = "auto",
    *,
    full: bool = False,
    client: ManagementClient | None = None,
    on_page: PageHook | None = None,
    progress_label: str = "syncing Auth0 users",
) -> SyncReport:
    """Publish every user changed since the last sync (every user with ``full``)."""
    tenant = auth0_config(settings).tenant
    started = time.monotonic()
    owned = client is None
    client = client or ManagementClient.from_settings(settings)
    report = SyncReport()
    try:
        async with open_publisher(settings) as publisher, elastic.connect(settings) as es:
            with elastic.elasticsearch_errors(settings):
                state = StateStore(es, Names(settings.name_prefix))
                stored = {} if full else (await state.get(STATE_KEY) or {})
                run = None if full else _restore(stored.get("run"), SEARCH_LAG)
                if run is not None and method not in ("auto", run.method):
                    run = None  # asked for the other method: start over from the last end
                report.resumed = run is not None
                if run is None:
                    start = Cursor() if full else Cursor.from_json(stored.get("cursor"))
                    total = await client.count_users(range_query(start.bound))
                    chosen = (
                        method
                        if method != "auto"
                        else ("search" if total < SEARCH_CAP else "export")
                    )
                    now = datetime.now(UTC).isoformat()
                    run = Run(chosen, start, {}, Recent(start, SEARCH_LAG), now)
                    log.info("Auth0 sync starting", method=chosen, users_to_read=total)
                report.method = run.method
                try:
                    await _walk(
                        settings,
                        client,
                        publisher,
                        state,
                        run,
                        report,
                        tenant,
                        on_page,
                        progress_label,
                    )
                except SearchCapReached:
                    if method != "auto":
                        raise
                    log.warning("search cannot page through a tie of updated_at: exporting")
                    run = Run("export", run.start, {}, run.recent, run.started_at)
                    report.method = "export"
                    await _walk(
                        settings,
                        client,
                        publisher,
                        state,
                        run,
                        report,
                        tenant,
                        on_page,
                        progress_label,
                    )
                end = run.recent.cursor()
                await state.put(
                    STATE_KEY,
                    {
                        "cursor": end.to_json(),
                        "completed_at": datetime.now(UTC).isoformat(),
                        "method": run.method,
                    },
                )
                report.cursor = end.bound
    finally:
        if owned:
            await client.aclose()
    report.seconds = time.monotonic() - started
    report.requests, report.rate_limited = client.stats.requests, client.stats.rate_limited
    return report


async def _walk(
    settings: Settings,
    client: ManagementClient,
    publisher: Publisher,
    state: StateStore,
    run: Run,
    report: SyncReport,
    tenant: str | None,
    on_page: PageHook | None,
    label: str,
) -> None:
    progress = Progress(label, None)
    if run.method == "search":
        position = Cursor.from_json(run.position.get("cursor")) if run.position else run.start
        progress.total_bytes = await client.count_users(range_query(position.bound))
        pages = search_pages(client, position)
    else:

        def sized(size: int) -> None:
            progress.total_bytes = size

        pages = export_pages(
            client,
            run.start,
            run.position.get("job_id"),
            int(run.position.get("lines_done") or 0),
            settings.auth0_export_poll_s,
            settings.auth0_export_timeout_s,
            sized,
        )
    done = 0
    async for page in pages:
        await _publish_page(page, publisher, run, report, settings, tenant)
        run.position = page.position
        await state.put(STATE_KEY, {"cursor": run.start.to_json(), "run": run.to_json(report)})
        done = page.position.get("file_at") or done + page.taken
        progress.update(done, report.taken, report.rejected)
        if on_page is not None:
            on_page(report)
    progress.update(progress.total_bytes or done, report.taken, report.rejected, force=True)
    progress.close()
