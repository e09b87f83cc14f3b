import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from consumers.thirdparty.budget import period_bounds
from consumers.thirdparty.circuit import CircuitBreaker
from consumers.thirdparty.http import retry_after
from consumers.thirdparty.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_repeated_failures_and_lets_one_probe_through() -> None:
    clock = Clock()
    circuit = CircuitBreaker(threshold=3, cooldown_s=10, clock=clock, jitter=lambda: 0.0)
    for _ in range(3):
        assert circuit.allow()
        circuit.failed()
    assert circuit.state == "open" and not circuit.allow()
    clock.now += 10
    assert circuit.state == "half_open"
    assert circuit.allow()  # the probe
    assert not circuit.allow()  # nobody else while it is out
    circuit.failed()
    assert circuit.state == "open" and circuit.retry_in_s == 20  # a failed probe doubles it
    clock.now += 20
    assert circuit.allow()
    circuit.succeeded()
    assert circuit.state == "closed" and circuit.allow() and circuit.allow()


def test_jitter_spreads_the_probes_of_processes_that_failed_together() -> None:
    opened = []
    for jitter in (0.0, 1.0):
        circuit = CircuitBreaker(
            threshold=1, cooldown_s=8, clock=lambda: 0.0, jitter=lambda j=jitter: j
        )
        circuit.failed()
        opened.append(circuit.opened_until)
    assert opened == [8.0, 10.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Sun, 30 Nov 2026 12:00:10 GMT"}, 10.0),
        ({"x-rate-limit-reset": "1796040015"}, 15.0),  # X: epoch seconds
        ({"X-Rate-Limit-Reset": "42"}, 42.0),  # FullContact: seconds from now
        ({"x-ratelimit-reset": "1796040003"}, 3.0),  # Auth0: epoch seconds
        ({}, None),
    ],
)
def test_retry_after_reads_every_spelling(headers: dict[str, str], expected: float | None) -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC).timestamp()
    assert now == 1796040000
    assert retry_after(httpx.Response(429, headers=headers), now) == expected


def test_the_limiter_paces_calls_and_a_pause_holds_everyone() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:  # time passes only when the limiter waits
        clock.now += seconds

    async def scenario() -> list[float]:
        limiter = RateLimiter(rate=20.0, clock=clock, sleep=sleep)
        started, stamps = clock.now, []
        for _ in range(5):
            await limiter.acquire()
            stamps.append(round(clock.now - started, 3))
        limiter.pause_for(0.3)
        await limiter.acquire()
        stamps.append(round(clock.now - started, 3))
        return stamps

    # A full bucket lets the first go at once, then one every 50 ms; the pause holds the next.
    assert asyncio.run(scenario()) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.5]


def test_budget_periods_are_utc_days_and_months() -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert period_bounds("day", late) == ("2026-12-31", datetime(2027, 1, 1, tzinfo=UTC))
    assert period_bounds("month", late) == ("2026-12", datetime(2027, 1, 1, tzinfo=UTC))
