"""The retry policy: where a message goes when its stage did not finish it. Pure, no I/O.

Like dramatiq's ``Retries`` middleware, the decision lives in one place instead of in the publish
loop: a stage only says ``retry`` (it may work later) or ``park`` (it never will); the policy
counts attempts and picks the delay. Attempt *n* (1-based) waits ``delays_ms[n-1]``; the last
delay repeats. After ``max_attempts`` processing attempts a message is parked.
"""

from dataclasses import dataclass
from typing import Literal

from consumers.core.settings import Settings


@dataclass(frozen=True)
class RetryLater:
    delay_ms: int
    attempts: int  # processing attempts so far, this one included


@dataclass(frozen=True)
class Park:
    attempts: int


Route = RetryLater | Park


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    delays_ms: tuple[int, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetryPolicy":
        return cls(settings.max_attempts, tuple(settings.retry_delays_ms))

    def route(self, kind: Literal["retry", "park"], attempts_before: int) -> Route:
        """Where a message goes after its attempt number ``attempts_before + 1`` failed."""
        attempts = attempts_before + 1
        if kind == "park" or attempts >= self.max_attempts:
            return Park(attempts)
        return RetryLater(self.delays_ms[min(attempts, len(self.delays_ms)) - 1], attempts)
