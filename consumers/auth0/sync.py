"""``authstream sync auth0``: every user of the tenant → ``user.updated`` events.

Users are read page by page (``auth0.users``: keyset-paged search, or the users-export job); each
page is published with confirms, then the position is stored in Elasticsearch (``store.state``,
key ``auth0:sync:users``). So an interrupted sync resumes where it stopped, and the next sync
starts where the last one ended and publishes only users changed since. A crash between a page's
confirms and its checkpoint publishes that page again: harmless, the ids are deterministic.
One sync runs at a time (a lease in Elasticsearch, renewed with every page).

``auto`` counts the users to sync: fewer than search's 1,000-result cap → search, else the export
job (one job instead of many pages; the keyset walk would cover them too, ten times slower).
"""

import contextlib
import os
import time
import uuid
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
from consumers.core.errors import AuthstreamError, BrokerUnavailable, InvalidEvent
from consumers.core.names import Names
from consumers.core.progress import Progress
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.store import elastic
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.auth0")

STATE_KEY = "auth0:sync:users"
LEASE_KEY = "auth0:sync:lease"
LEASE_TTL = timedelta(minutes=2)  # renewed with every page; a crashed sync's lapses soon
# Search results trail writes by a few seconds: the next sync looks back this far (the users
# it already published there are remembered, so they are not published again).
SEARCH_LAG = timedelta(minutes=2)
REJECTIONS_KEPT = 50

Method = Literal["auto", "search", "export"]


class SyncAlreadyRunning(AuthstreamError):
    """Another sync holds the lease."""


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


class Sync:
    """One ``sync auth0`` run: the pieces every page needs, and the steps."""

    def __init__(
        self,
        settings: Settings,
        client: ManagementClient,
        publisher: Publisher,
        state: StateStore,
        on_page: PageHook | None,
        label: str,
    ) -> None:
        self.settings, self.client, self.publisher, self.state = settings, client, publisher, state
        self.tenant = auth0_config(settings).tenant
        self.on_page, self.label = on_page, label
        self.report = SyncReport()
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    async def hold(self) -> None:
        """One sync at a time: two would fight over the checkpoint."""
        if not await self.state.lease(LEASE_KEY, self.holder, LEASE_TTL, datetime.now(UTC)):
            raise SyncAlreadyRunning(
                "another `authstream sync auth0` is running (its lease lasts up to "
                f"{LEASE_TTL.total_seconds() / 60:.0f} minutes after it stops)"
            )

    async def begin(self, method: Method, full: bool) -> Run:
        """The interrupted run to resume, or a new one from where the last one ended."""
        stored = {} if full else (await self.state.get(STATE_KEY) or {})
        run = None if full else _restore(stored.get("run"), SEARCH_LAG)
        if run is not None and method in ("auto", run.method):
            self.report.resumed = True
            return run
        start = Cursor() if full else Cursor.from_json(stored.get("cursor"))
        total = await self.client.count_users(range_query(start.bound))
        chosen = method if method != "auto" else ("search" if total < SEARCH_CAP else "export")
        log.info("Auth0 sync starting", method=chosen, users_to_read=total)
        return Run(chosen, start, {}, Recent(start, SEARCH_LAG), datetime.now(UTC).isoformat())

    async def walk(self, run: Run) -> None:
        self.report.method = run.method
        progress = Progress(self.label, None)
        if run.method == "search":
            position = Cursor.from_json(run.position.get("cursor")) if run.position else run.start
            progress.total_bytes = await self.client.count_users(range_query(position.bound))
            pages = search_pages(self.client, position)
        else:

            def sized(size: int) -> None:
                progress.total_bytes = size  # the export file's size: progress in bytes read

            pages = export_pages(
                self.client,
                run.start,
                run.position.get("job_id"),
                int(run.position.get("lines_done") or 0),
                self.settings.auth0_export_poll_s,
                self.settings.auth0_export_timeout_s,
                sized,
            )
        done = 0
        async for page in pages:
            await self.publish(page, run)
            run.position = page.position
            checkpoint = {"cursor": run.start.to_json(), "run": run.to_json(self.report)}
            await self.state.put(STATE_KEY, checkpoint)
            await self.hold()  # renewed with every page
            done = page.position.get("file_at") or done + page.taken
            progress.update(done, self.report.taken, self.report.rejected)
            if self.on_page is not None:
                self.on_page(self.report)
        progress.update(progress.total_bytes or done, self.report.taken, 0, force=True)
        progress.close()

    async def publish(self, page: Page, run: Run) -> None:
        """Every user of the page, confirmed by the broker, before the checkpoint moves."""
        rejected = list(page.rejected)
        for user in page.users:
            user_id = str(user.get("user_id") or "?")
            try:
                body = orjson.dumps(user_updated(user, self.tenant, run.method))
                event = decode_event(body, self.settings.max_event_bytes)
            except InvalidEvent as exc:
                rejected.append(f"{user_id}: {exc.reason}")
                continue
            await self.publisher.publish(self.report.taken, event, body)
            run.recent.add(user_id, version_of(user))
        await self.publisher.drain()
        if self.publisher.report.failures:
            raise BrokerUnavailable(self.publisher.report.failures[0][1])
        self.report.published = self.publisher.report.published
        self.report.taken += page.taken
        self.report.reject(rejected)

    async def finish(self, run: Run) -> None:
        end = run.recent.cursor()
        completed = {"completed_at": datetime.now(UTC).isoformat(), "method": run.method}
        await self.state.put(STATE_KEY, {"cursor": end.to_json(), **completed})
        self.report.cursor = end.bound


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
    started = time.monotonic()
    owned = client is None
    client = client or ManagementClient.from_settings(settings)
    try:
        async with open_publisher(settings) as publisher, elastic.connect(settings) as es:
            with elastic.elasticsearch_errors(settings):
                state = StateStore(es, Names(settings.name_prefix))
                sync = Sync(settings, client, publisher, state, on_page, progress_label)
                await sync.hold()
                try:
                    run = await sync.begin(method, full)
                    try:
                        await sync.walk(run)
                    except SearchCapReached:
                        if method != "auto":
                            raise
                        log.warning("search cannot page through a tie of updated_at: exporting")
                        run = Run("export", run.start, {}, run.recent, run.started_at)
                        await sync.walk(run)
                    await sync.finish(run)
                finally:
                    with contextlib.suppress(Exception):  # else it expires by itself
                        await state.release(LEASE_KEY)
    finally:
        if owned:
            await client.aclose()
    sync.report.seconds = time.monotonic() - started
    sync.report.requests = client.stats.requests
    sync.report.rate_limited = client.stats.rate_limited
    return sync.report
