"""Reading X within its limits: a monthly read budget never exceeded, paced calls, a circuit.

X bills every post it returns, so each page first reserves as many posts as it asks for from the
monthly budget (shared by every process through Elasticsearch) and gives back what the page did
not fill; when fewer than X's minimum page (10) are left, reading stops until next month. Calls
are paced (``RateLimiter``); ``x-rate-limit-remaining: 0`` and a 429 pause every caller until
``x-rate-limit-reset``. 5xx and timeouts get two quick retries, then the circuit opens and the
caller's batch is held; 401/403 hold it too, loudly.
"""

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from consumers.core.errors import (
    ThirdPartyAuthRejected,
    ThirdPartyRateLimited,
    ThirdPartyUnavailable,
)
from consumers.core.settings import Settings
from consumers.pipeline import metrics
from consumers.sentiment.mentions import MentionRecord
from consumers.sentiment.twitter import MAX_RESULTS, MIN_RESULTS, Page, SearchApi, newest
from consumers.store.state import StateStore
from consumers.thirdparty.budget import CallBudget
from consumers.thirdparty.circuit import CircuitBreaker
from consumers.thirdparty.limits import RateLimiter

log = structlog.get_logger("authstream.sentiment")

PROVIDER = "x"
QUICK_RETRIES = (0.5, 1.5)  # seconds, before jitter


@dataclass
class Reading:
    """What one query read: the posts, and how far it got."""

    posts: list[MentionRecord] = field(default_factory=list)
    newest_id: str | None = None
    oldest_id: str | None = None
    complete: bool = False  # read to the last page (nothing left between since_id and now)
    budget_spent: bool = False  # stopped because the monthly budget ran out
    returned: int = 0  # posts X billed


class XReader:
    def __init__(
        self,
        api: SearchApi,
        state: StateStore,
        settings: Settings,
        clock: Callable[[], datetime],
    ) -> None:
        self.api = api
        self.limiter = RateLimiter(settings.x_rps)
        self.circuit = CircuitBreaker()
        self.budget = CallBudget(state, PROVIDER, settings.x_monthly_read_budget, "month", clock)
        metrics.BUDGET_REMAINING.labels(PROVIDER, "month").set(self.budget.remaining)
        metrics.CIRCUIT_OPEN.labels(PROVIDER).set(0)
        metrics.AUTH_REJECTED.labels(PROVIDER).set(0)

    async def read(
        self,
        query: str,
        *,
        since_id: str | None,
        until_id: str | None = None,
        max_pages: int,
    ) -> Reading:
        """Pages of ``query`` newest first, until the last one, ``max_pages`` or the budget."""
        reading = Reading()
        token: str | None = None
        for _ in range(max_pages):
            reservation = await self.budget.reserve(MAX_RESULTS, at_least=MIN_RESULTS)
            metrics.BUDGET_REMAINING.labels(PROVIDER, "month").set(self.budget.remaining)
            if not reservation.granted:
                reading.budget_spent = True
                log.warning(
                    "the monthly X read budget is spent; reading again next month",
                    limit=self.budget.limit,
                )
                break
            page: Page | None = None
            try:
                page = await self._page(query, reservation.granted, since_id, until_id, token)
            finally:
                used = min(page.returned, reservation.granted) if page is not None else 0
                await self.budget.refund(reservation, reservation.granted - used)
                metrics.BUDGET_REMAINING.labels(PROVIDER, "month").set(self.budget.remaining)
            reading.posts += page.posts
            reading.returned += page.returned
            reading.newest_id = newest(reading.newest_id, page.newest_id)
            reading.oldest_id = page.oldest_id or reading.oldest_id
            if not page.next_token:
                reading.complete = True
                break
            token = page.next_token
        return reading

    async def _page(
        self,
        query: str,
        size: int,
        since_id: str | None,
        until_id: str | None,
        token: str | None,
    ) -> Page:
        if not self.circuit.allow():
            metrics.CIRCUIT_OPEN.labels(PROVIDER).set(1)
            wait = self.circuit.retry_in_s
            raise ThirdPartyUnavailable(f"X is failing; next probe in {wait:.0f} s")
        for pause in (*QUICK_RETRIES, None):
            await self.limiter.acquire()
            try:
                page = await self.api.search(
                    query, max_results=size, since_id=since_id, until_id=until_id, next_token=token
                )
            except ThirdPartyAuthRejected:
                metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "auth_rejected").inc()
                metrics.AUTH_REJECTED.labels(PROVIDER).set(1)
                self.circuit.failed()
                log.error(
                    "X rejected the bearer token: holding the sentiment stage until it works "
                    "(check AUTHSTREAM_X_BEARER_TOKEN)",
                    provider=PROVIDER,
                )
                raise
            except ThirdPartyRateLimited as exc:
                metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "rate_limited").inc()
                self.limiter.pause_for(exc.retry_after or 1.0)
                log.warning("X asks us to wait", retry_in_s=exc.retry_after)
                raise
            except ThirdPartyUnavailable:
                metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "unavailable").inc()
                if pause is None:
                    self.circuit.failed()
                    metrics.CIRCUIT_OPEN.labels(PROVIDER).set(int(self.circuit.state != "closed"))
                    raise
                await asyncio.sleep(pause * (0.5 + random.random()))
                continue
            self.circuit.succeeded()
            metrics.CIRCUIT_OPEN.labels(PROVIDER).set(0)
            metrics.AUTH_REJECTED.labels(PROVIDER).set(0)
            metrics.THIRD_PARTY_CALLS.labels(PROVIDER, "ok").inc()
            if page.rate_remaining == 0 and page.rate_reset_in_s:
                self.limiter.pause_for(page.rate_reset_in_s)  # the window is used up: wait
            return page
        raise AssertionError("unreachable")  # the last attempt returns or raises

    async def aclose(self) -> None:
        await self.api.aclose()
