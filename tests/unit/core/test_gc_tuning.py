"""The cycle collector after ``tune_for_throughput``: measured by what it does, not by the numbers
it was given — far fewer young collections for the same allocations, and still some, so that a
reference cycle is reclaimed without anyone calling ``gc.collect()``."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from consumers.core.gc_tuning import tune_for_throughput

# Container objects, the kind the collector tracks (handling one event makes thousands).
ALLOCATIONS = 300_000


@pytest.fixture(autouse=True)
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    gc.collect()  # start every measurement from empty generations
    yield
    gc.set_threshold(*before)


def young_collections_while_allocating(count: int = ALLOCATIONS) -> int:
    before = gc.get_stats()[0]["collections"]
    kept = [[] for _ in range(count)]
    after = gc.get_stats()[0]["collections"]
    del kept
    return after - before


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_collector_runs_far_less_often_for_the_same_allocations() -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    by_default = young_collections_while_allocating()
    gc.collect()
    tune_for_throughput()
    tuned = young_collections_while_allocating()
    assert by_default >= 300  # one every 700 allocations
    assert 1 <= tuned <= by_default / 20, (tuned, by_default)


def test_a_reference_cycle_is_still_reclaimed_without_an_explicit_collection() -> None:
    tune_for_throughput()
    assert gc.isenabled()
    first, second = Node(), Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    del first, second  # unreachable now, but reference counting alone cannot free a cycle
    assert alive() is not None
    young_collections_while_allocating()  # ordinary work, as in a worker
    assert alive() is None
