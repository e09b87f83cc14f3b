"""Property-based fuzzing with hypothesis: two profiles, one decorator, and a tally of inputs.

``make test`` runs every property under the ``small`` profile (derandomised: the same inputs every
run, so the suite stays fast and a failure reproduces); ``make test-fuzz`` runs only the properties
marked ``fuzz``, under the ``fuzz`` profile, with fresh random inputs, a hundred times as many, and
fails unless they add up to ``AUTHSTREAM_FUZZ_MIN_INPUTS`` (100,000 in the Makefile). A property
says its share with ``@fuzz(weight)``: ``weight`` times the profile's base number of examples.
Every input a property checked to the end is tallied; the session prints the totals.
"""

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import UnsatisfiedAssumption

BASE_EXAMPLES = {"small": 50, "fuzz": 5_000}
PROFILES = {
    # Phase.explain would re-run failing examples to annotate them: slow, and noisy on a 2-core
    # machine. Deadlines are off (load on a shared machine is not a defect); hangs are caught by
    # the timeouts each property puts on what it calls (HTTP, subprocesses).
    "small": settings(
        max_examples=BASE_EXAMPLES["small"],
        derandomize=True,
        deadline=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
    "fuzz": settings(
        max_examples=BASE_EXAMPLES["fuzz"],
        deadline=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
}
DEFAULT_PROFILE = "small"

GENERATED: Counter[str] = Counter()
"""Inputs each property checked to the end, by test name (shrinking re-runs included)."""

T = TypeVar("T", bound=Callable[..., Any])


def register_profiles() -> None:
    for name, profile in PROFILES.items():
        settings.register_profile(name, profile)
    settings.load_profile(DEFAULT_PROFILE)


def fuzz(weight: float, **overrides: Any) -> Callable[[T], T]:
    """Mark a ``@given`` property as a fuzz target that runs ``weight`` times the profile's base
    number of examples (at least 10), and tally the inputs it checks."""

    def decorate(test: T) -> T:
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
        name = f"{inner.__module__.rsplit('.', 1)[-1]}::{inner.__name__}"

        @functools.wraps(inner)
        def tallied(*args: Any, **kwargs: Any) -> Any:
            try:
                result = inner(*args, **kwargs)
            except UnsatisfiedAssumption:
                raise  # not an input that was checked
            GENERATED[name] += 1
            return result

        test.hypothesis.inner_test = tallied  # type: ignore[attr-defined]
        examples = max(10, round(settings.default.max_examples * weight))
        configured = settings(parent=settings.default, max_examples=examples, **overrides)(test)
        return pytest.mark.fuzz(configured)  # type: ignore[no-any-return]

    return decorate
