import gc
from collections.abc import Iterator

import pytest

from consumers.core.gc_tuning import THRESHOLDS, tune_for_throughput


@pytest.fixture
def restored_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_thresholds")
def test_the_collector_runs_less_often_but_still_runs() -> None:
    tune_for_throughput()
    assert gc.get_threshold() == THRESHOLDS
    assert gc.isenabled()
    assert THRESHOLDS[0] > 700  # fewer young collections than CPython's default
