"""Pacing calls to a paid, rate-limited API: a token bucket, plus a pause the API can ask for.

The bucket keeps this process under ``rate`` requests per second; ``pause_for`` holds every call
until a 429's ``Retry-After`` has passed, so one refusal slows every caller, not only the one
that got it. The limit is per process: run one process per stage for an API with a hard limit,
or divide the limit between processes.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.sleep = sleep
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._tokens = self.burst
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause_for(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    async def acquire(self) -> None:
        """Wait until a call may start (callers queue up in order)."""
        async with self._lock:
            while True:
                now = self.clock()
                if now < self._paused_until:
                    await self.sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0 - 1e-9:  # float sums land a hair short of 1
                    self._tokens -= 1.0
                    return
                await self.sleep((1.0 - self._tokens) / self.rate)
