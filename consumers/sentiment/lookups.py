"""What the sentiment stage reads from X and what it remembers of it, in ``authstream-state``.

- One handle (``look_up``): at most once per refresh interval (a checkpoint per handle, and a
  lease so two processes never read the same handle at once), and only posts newer than what was
  read before — for that handle, or by the last complete sweep, which read every mention of the
  brand up to ``covered_through``. Right after a complete sweep (within the sweep interval) it
  asks X nothing at all: the next sweep reads whatever the handle posts meanwhile.
- The whole brand (``sweep_read``/``sweep_done``): every mention since the last complete sweep.
  A sweep cut short (its page limit, the budget) remembers how far down it got and reads on
  from there next time, so nothing in between is skipped and nothing is read twice.
"""

import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from consumers.core.errors import ThirdPartyUnavailable
from consumers.core.settings import Settings
from consumers.sentiment.mentions import MentionRecord
from consumers.sentiment.reader import Reading, XReader
from consumers.sentiment.twitter import brand_query, check_query, newest, usable_since_id
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.sentiment")

SWEEP_KEY = "sentiment:sweep"
PAGES_PER_LOOKUP = 3  # one user's posts about the brand in 7 days: 300 is plenty
LEASE = timedelta(minutes=2)

Keep = Callable[[Sequence[MentionRecord], str], Awaitable[object]]
"""Stores what was read (``MentionStore.add``), before the checkpoint says it was read."""


def _at(record: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(record["at"]) if record.get("at") else None


class XLookups:
    def __init__(
        self,
        reader: XReader,
        keep: Keep,
        state: StateStore,
        settings: Settings,
        clock: Callable[[], datetime],
    ) -> None:
        assert settings.brand_handle is not None
        self.reader = reader
        self.keep = keep
        self.state = state
        self.settings = settings
        self.clock = clock
        self.interval = timedelta(hours=settings.sentiment_refresh_hours)
        self.sweep_every = timedelta(minutes=settings.sentiment_sweep_minutes)
        self.brand = settings.brand_handle
        self.query = check_query(brand_query(self.brand, settings.brand_keywords))
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    async def look_up(self, handle: str) -> datetime | None:
        """Read and keep the handle's new posts about the brand, unless that was done within the
        interval. Returns when it was last looked up (None: never, e.g. the budget is spent)."""
        now = self.clock()
        key = f"sentiment:handle:{handle}"
        last = _at(await self.state.get(key) or {})
        if last is not None and last > now - self.interval:
            return last
        if not await self.state.lease(f"lease:{key}", self.holder, LEASE, now):
            raise ThirdPartyUnavailable(f"another worker is looking @{handle} up on X")
        try:
            # Another process may have finished this look-up while we waited for the lease.
            checkpoint = await self.state.get(key) or {}
            done = _at(checkpoint)
            if done is not None and done > now - self.interval:
                return done
            sweep = await self.state.get(SWEEP_KEY) or {}
            swept = _at(sweep)
            if (
                self.sweep_every
                and swept
                and not sweep.get("resume")
                and swept > now - self.sweep_every
            ):
                # A complete sweep read every mention of the brand since its last run, and the
                # next one is due within its interval: asking X for this handle now could only
                # find what that sweep will read anyway. Save the request (and the rate limit).
                seen = {"at": swept.isoformat(), "newest_id": sweep.get("covered_through")}
                await self.state.put(key, seen | {"handle": handle})
                return swept
            # Whatever a complete sweep read needs no second read: start after it.
            read_from = newest(checkpoint.get("newest_id"), sweep.get("covered_through"))
            since = usable_since_id(read_from, now)
            query = check_query(brand_query(self.brand, self.settings.brand_keywords, handle))
            reading = await self.reader.read(query, since_id=since, max_pages=PAGES_PER_LOOKUP)
            await self.keep(reading.posts, "x-user")
            if reading.budget_spent and not reading.complete:
                return last  # not looked up: the next request after the window tries again
            top = newest(reading.newest_id, read_from)
            await self.state.put(key, {"at": now.isoformat(), "newest_id": top, "handle": handle})
            log.info("looked up on X", handle=handle, posts=len(reading.posts), since_id=since)
            return now
        finally:
            await self.state.release(f"lease:{key}")

    async def sweep_read(self, now: datetime) -> tuple[Reading, dict[str, Any]]:
        """Every mention of the brand not read yet (as far as the page limit and budget go)."""
        checkpoint = await self.state.get(SWEEP_KEY) or {}
        resume = checkpoint.get("resume") or {}
        reading = await self.reader.read(
            self.query,
            since_id=usable_since_id(checkpoint.get("covered_through"), now),
            until_id=resume.get("until_id"),
            max_pages=self.settings.sentiment_sweep_max_pages,
        )
        return reading, checkpoint

    async def sweep_done(self, reading: Reading, checkpoint: dict[str, Any], now: datetime) -> None:
        """Remember how far the sweep got (call it once what it read is safe)."""
        covered = checkpoint.get("covered_through")
        resume = checkpoint.get("resume") or {}
        top = newest(resume.get("newest"), reading.newest_id)
        after: dict[str, Any]
        if reading.complete:
            after = {"covered_through": newest(top, covered), "at": now.isoformat()}
        else:  # cut short: next time, read on below what this one reached
            until = reading.oldest_id or resume.get("until_id")
            after = {
                "covered_through": covered,
                "resume": {"until_id": until, "newest": top},
                "at": now.isoformat(),
            }
        await self.state.put(SWEEP_KEY, after)

    async def aclose(self) -> None:
        await self.reader.aclose()
