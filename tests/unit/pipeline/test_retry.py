import pytest

from consumers.core.settings import Settings
from consumers.pipeline.retry import Park, RetryLater, RetryPolicy

POLICY = RetryPolicy(max_attempts=5, delays_ms=(1_000, 10_000, 60_000))


@pytest.mark.parametrize(
    ("attempts_before", "expected"),
    [
        (0, RetryLater(1_000, 1)),
        (1, RetryLater(10_000, 2)),
        (2, RetryLater(60_000, 3)),
        (3, RetryLater(60_000, 4)),  # the last delay repeats
        (4, Park(5)),  # the fifth attempt failed: parked
        (9, Park(10)),  # already over the limit (settings lowered since): parked at once
    ],
)
def test_retries_wait_longer_each_time_and_park_after_the_last_attempt(
    attempts_before: int, expected: RetryLater | Park
) -> None:
    assert POLICY.route("retry", attempts_before) == expected


def test_a_permanent_failure_is_parked_on_its_first_attempt() -> None:
    assert POLICY.route("park", 0) == Park(1)


def test_one_attempt_means_no_retry() -> None:
    assert RetryPolicy(1, (1_000,)).route("retry", 0) == Park(1)


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(max_attempts=3, retry_delays_ms=[200, 1_000])
    policy = RetryPolicy.from_settings(settings)
    assert [policy.route("retry", n) for n in range(3)] == [
        RetryLater(200, 1),
        RetryLater(1_000, 2),
        Park(3),
    ]
