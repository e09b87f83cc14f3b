"""Every user of the tenant, read two ways, as pages a sync publishes and checkpoints.

**Search** (``GET /api/v2/users``, search v3) answers at most 1,000 results for one query, so the
walk never pages deep: it is keyset-paged on ``updated_at``. Each request asks for the first page
of ``updated_at:["<bound>" TO *]`` sorted by ``updated_at``; the bound then moves to the last
``updated_at`` received, and the users at the bound already taken are skipped. A tenant of any
size is covered, as long as fewer than 1,000 users share one timestamp (``SearchCapReached``).

**Export** (``POST /api/v2/jobs/users-exports``): one job, polled until it completes, its gzipped
NDJSON file downloaded to a temporary file and read line by line (never held in memory). The
file is a snapshot of every user; those the cursor says are done are skipped.

A ``Cursor`` says what is done: every user updated before ``bound``, and those in ``seen``.
"""

import asyncio
import gzip
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog

from consumers.auth0.client import ManagementClient
from consumers.auth0.snapshot import EPOCH, instant, version_of
from consumers.core.errors import ThirdPartyUnavailable

log = structlog.get_logger("authstream.auth0")

SEARCH_CAP = 1_000  # results one search query can page through
PER_PAGE = 100  # the most Auth0 gives per page
EXPORT_PAGE = 500  # users published (and checkpointed) together from an export file
# The Auth0 profile fields an export asks for (at most 30; JSON exports carry whole objects).
EXPORT_FIELDS = [
    "user_id", "email", "email_verified", "username", "phone_number", "name", "given_name",
    "family_name", "nickname", "picture", "locale", "gender", "birthday", "age", "location",
    "screen_name", "likes", "created_at", "updated_at", "last_login", "last_ip",
    "logins_count", "blocked", "identities", "user_metadata", "app_metadata",
]  # fmt: skip


class SearchCapReached(ThirdPartyUnavailable):
    """More users share one ``updated_at`` than one search query can page through."""


@dataclass
class Cursor:
    bound: str = EPOCH
    seen: dict[str, str] = field(default_factory=dict)  # user id -> updated_at, all >= bound

    def done(self, user_id: str, version: str) -> bool:
        return version < self.bound or self.seen.get(user_id) == version

    def to_json(self) -> dict[str, Any]:
        return {"bound": self.bound, "seen": self.seen}

    @classmethod
    def from_json(cls, raw: Any) -> "Cursor":
        if not isinstance(raw, dict):
            return cls()
        seen = raw.get("seen")
        pairs = seen.items() if isinstance(seen, dict) else []
        return cls(str(raw.get("bound") or EPOCH), {str(k): str(v) for k, v in pairs})


class Recent:
    """The newest users taken, so the next sync can start ``lag`` before the newest one (search
    results trail writes by a few seconds) without publishing them again."""

    def __init__(self, start: Cursor, lag: timedelta, keep: int = 1_000) -> None:
        self.floor = start.bound
        self.lag, self.keep = lag, keep
        self.versions: dict[str, str] = dict(start.seen)

    def add(self, user_id: str, version: str) -> None:
        if version >= self.floor:
            self.versions[user_id] = version
            if len(self.versions) > 2 * self.keep:
                pruned = self.cursor()  # what it forgets is below its new floor: done
                self.floor, self.versions = pruned.bound, pruned.seen

    def cursor(self) -> Cursor:
        """Where the next sync starts: never before where this one started."""
        if not self.versions:
            return Cursor(self.floor, {})
        newest = datetime.fromisoformat(max(self.versions.values()).replace("Z", "+00:00"))
        bound = max(self.floor, instant((newest - self.lag).astimezone(UTC).isoformat()) or EPOCH)
        if len(self.versions) > self.keep:
            bound = max(bound, sorted(self.versions.values())[-self.keep])
        return Cursor(bound, {u: v for u, v in self.versions.items() if v >= bound})


@dataclass
class Page:
    users: list[dict[str, Any]]  # not done yet: to publish
    taken: int  # users read (for the first time in this walk), those skipped as done included
    position: dict[str, Any]  # where a resumed walk continues, once this page is published
    rejected: list[str] = field(default_factory=list)  # why some records cannot be published


def _user_id(user: dict[str, Any]) -> str:
    return str(user.get("user_id") or "")


def range_query(bound: str) -> str:
    return f'updated_at:["{bound}" TO *]'


async def search_pages(client: ManagementClient, start: Cursor) -> AsyncIterator[Page]:
    cursor, page = Cursor(start.bound, dict(start.seen)), 0
    counted: dict[str, str] = {}  # read by this walk, at or after the bound: read again, not new
    while True:
        found = await client.search_users(
            {
                "q": range_query(cursor.bound),
                "sort": "updated_at:1",
                "per_page": str(PER_PAGE),
                "page": str(page),
            }
        )
        if not isinstance(found, list):
            raise ThirdPartyUnavailable("Auth0 user search answered something other than a list")
        users = [u for u in found if isinstance(u, dict) and _user_id(u)]
        versions = [(_user_id(u), version_of(u)) for u in users]
        fresh = [u for u, (i, v) in zip(users, versions, strict=True) if not cursor.done(i, v)]
        new = {i: v for i, v in versions if counted.get(i) != v}
        counted.update(new)
        last = versions[-1][1] if versions else cursor.bound
        if last > cursor.bound:
            merged = {**cursor.seen, **dict(versions)}
            cursor, page = Cursor(last, {i: v for i, v in merged.items() if v >= last}), 0
            counted = {i: v for i, v in counted.items() if v >= last}
        else:  # the whole page sits at the bound: page deeper into it
            cursor.seen.update(versions)
            page += 1
        yield Page(fresh, len(new), {"cursor": cursor.to_json()})
        if len(found) < PER_PAGE:
            return
        if (page + 1) * PER_PAGE > SEARCH_CAP:
            raise SearchCapReached(
                f"more than {SEARCH_CAP:,} users share updated_at {cursor.bound}: "
                "use --method export"
            )


async def completed_export(
    client: ManagementClient,
    job_id: str | None,
    poll_s: float,
    timeout_s: float,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> tuple[str, str]:
    """The id and download URL of a completed users-export job: ``job_id``'s if it still
    exists (a resumed sync), else a new job's. The URL is valid for a short while only."""
    job = await client.get_job(job_id) if job_id else None
    if job is None or job.get("status") in ("failed", "expired"):
        job = await client.create_users_export(EXPORT_FIELDS)
        log.info("Auth0 users export started", job=job.get("id"))
    waited = 0.0
    while job.get("status") != "completed":
        if job.get("status") == "failed":
            raise ThirdPartyUnavailable(
                f"the Auth0 users export failed: {job.get('status_details') or 'no reason given'}"
            )
        if waited >= timeout_s:
            raise ThirdPartyUnavailable(
                f"the Auth0 users export did not complete within {timeout_s:.0f} s"
            )
        await sleep(poll_s)
        waited += poll_s
        polled = await client.get_job(str(job["id"]))
        if polled is None:
            raise ThirdPartyUnavailable(f"the Auth0 users export job {job['id']} disappeared")
        job = polled
    location = job.get("location")
    if not isinstance(location, str) or not location:
        raise ThirdPartyUnavailable("the Auth0 users export completed without a file location")
    return str(job["id"]), location


def _ndjson(path: str) -> Iterator[tuple[int, Any]]:
    """(compressed bytes read so far, parsed line) for each non-blank line of a gzipped file."""
    with open(path, "rb") as raw, gzip.open(raw, "rb") as lines:
        for line in lines:
            if line.strip():
                try:
                    yield raw.tell(), orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield raw.tell(), None


async def export_pages(
    client: ManagementClient,
    start: Cursor,
    job_id: str | None,
    lines_done: int,
    poll_s: float,
    timeout_s: float,
    on_size: Callable[[int], None] = lambda _: None,
) -> AsyncIterator[Page]:
    job_id, location = await completed_export(client, job_id, poll_s, timeout_s)
    with tempfile.NamedTemporaryFile(prefix="authstream-auth0-export-", suffix=".json.gz") as f:
        on_size(await client.download(location, f))
        f.flush()
        batch: list[dict[str, Any]] = []
        rejected: list[str] = []
        taken, number = 0, 0
        for number, (position, row) in enumerate(_ndjson(f.name), start=1):
            if number <= lines_done:
                continue  # published before an interruption
            taken += 1
            if not isinstance(row, dict):
                rejected.append(f"export line {number} is not a JSON object")
            elif not start.done(_user_id(row), version_of(row)):
                batch.append(row)
            if taken >= EXPORT_PAGE:
                yield Page(batch, taken, _export_position(job_id, number, position), rejected)
                batch, rejected, taken = [], [], 0
        done = max(number, lines_done)
        yield Page(batch, taken, _export_position(job_id, done, None), rejected)


def _export_position(job_id: str, lines_done: int, file_at: int | None) -> dict[str, Any]:
    return {"job_id": job_id, "lines_done": lines_done, "file_at": file_at}
