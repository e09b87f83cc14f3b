"""A call budget for a paid API: at most ``limit`` calls per UTC day (or month), never exceeded,
shared by every process through a counter in Elasticsearch (``store.state``).

An API billed by the item (X bills each post read) reserves a page's worth before the call and
gives back what the page did not use, so concurrent readers can never overspend together.
"""

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Reservation:
    key: str  # the period's counter it was taken from
    granted: int


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

    def _key(self) -> str:
        name, _ = period_bounds(self.period, self.clock())
        return f"budget:{self.provider}:{name}"

    async def reserve(self, wanted: int, at_least: int = 1) -> Reservation:
        """Take up to ``wanted`` units, or none if fewer than ``at_least`` are left."""
        key = self._key()
        granted, used = await self.state.take_up_to(
            key, self.limit, wanted, at_least, {"provider": self.provider}
        )
        self.remaining = self.limit - used
        metrics.BUDGET_REMAINING.labels(self.provider, self.period).set(self.remaining)
        return Reservation(key, granted)

    async def refund(self, reservation: Reservation, unused: int) -> None:
        """Give back what a reservation did not use."""
        if unused > 0:
            used = await self.state.give_back(reservation.key, min(unused, reservation.granted))
            if reservation.key == self._key():
                self.remaining = self.limit - used
                metrics.BUDGET_REMAINING.labels(self.provider, self.period).set(self.remaining)
