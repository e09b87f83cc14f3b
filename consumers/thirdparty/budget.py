"""A call budget for a paid API: at most ``limit`` calls per UTC day (or month), never exceeded,
shared by every process through a counter in Elasticsearch (``store.state``)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from consumers.core.errors import ThirdPartyRateLimited
from consumers.pipeline import metrics
from consumers.store.state import StateStore

Period = Literal["day", "month"]


def period_bounds(period: Period, now: datetime) -> tuple[str, datetime]:
    """The period's name (``2026-11-30``, ``2026-11``) and when the next one starts."""
    if period == "day":
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return start.date().isoformat(), start + timedelta(days=1)
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), following


class CallBudget:
    def __init__(
        self,
        state: StateStore,
        provider: str,
        limit: int,
        period: Period = "day",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.provider = provider
        self.limit = limit
        self.period = period
        self.clock = clock
        self.remaining = limit  # as last seen; for the metric
        # Here rather than in each stage: every budget is on the dashboard and under the alert.
        metrics.BUDGET_LIMIT.labels(provider, period).set(limit)
        metrics.BUDGET_REMAINING.labels(provider, period).set(limit)

    async def spend(self, calls: int = 1) -> None:
        """Take ``calls`` from the budget, or raise ThirdPartyRateLimited until the next period."""
        now = self.clock()
        name, next_start = period_bounds(self.period, now)
        key = f"budget:{self.provider}:{name}"
        for _ in range(calls):
            used = await self.state.take(key, self.limit, {"provider": self.provider})
            if used is None:
                self.remaining = 0
                metrics.BUDGET_REMAINING.labels(self.provider, self.period).set(0)
                raise ThirdPartyRateLimited(
                    f"the {self.period}ly {self.provider} budget of {self.limit:,} calls is spent",
                    (next_start - now).total_seconds(),
                )
            self.remaining = self.limit - used
            metrics.BUDGET_REMAINING.labels(self.provider, self.period).set(self.remaining)
