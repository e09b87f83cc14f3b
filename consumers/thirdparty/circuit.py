"""A circuit breaker, so an outage costs one probe at a time instead of a call per message.

Closed: calls go through; ``threshold`` failures in a row open it. Open: no calls until a cooldown
has passed (it doubles with every failed probe, up to ``max_cooldown_s``, with jitter so several
processes do not probe in step). Half-open: exactly one call, the probe, may go; its success
closes the circuit, its failure opens it again for longer.
"""

import random
import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 3,
        cooldown_s: float = 5.0,
        max_cooldown_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.clock = clock
        self.jitter = jitter
        self.failures = 0
        self.opened_until = 0.0
        self.cooldown_s = cooldown_s
        self.probing = False

    @property
    def state(self) -> State:
        if self.failures < self.threshold:
            return "closed"
        return "half_open" if self.clock() >= self.opened_until else "open"

    def allow(self) -> bool:
        """May a call start now? In half-open state only the first caller gets a yes."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    @property
    def retry_in_s(self) -> float:
        return max(0.0, self.opened_until - self.clock())

    def succeeded(self) -> None:
        self.failures = 0
        self.cooldown_s = self.base_cooldown_s
        self.probing = False

    def failed(self) -> None:
        was_probe = self.probing
        self.probing = False
        self.failures += 1
        if self.failures >= self.threshold:
            if was_probe:
                self.cooldown_s = min(self.cooldown_s * 2, self.max_cooldown_s)
            # Up to a quarter more, at random: processes that failed together probe apart.
            self.opened_until = self.clock() + self.cooldown_s * (1 + 0.25 * self.jitter())
