"""Cycle-collector settings for the processes that handle every event: worker, ingest, publish.

Each event allocates thousands of short-lived objects (the parsed envelope, pydantic models, the
documents). With CPython's default thresholds (700, 10, 10) the cycle collector runs thousands of
times a second and walks everything alive in the in-flight batch each time: measured on the bench
machine, a quarter of the index stage's CPU (0.53 → 0.40 ms per event, BENCHMARKS.md). These
objects hardly ever form cycles, so reference counting frees them; the collector is made to run
far less often, not switched off, so the odd cycle is still reclaimed.

The young threshold is above what one batch keeps alive at once (500 events with their profiles:
about 100,000 container objects), so a collection hardly ever walks an in-flight batch: at 50,000
the collector still took a sixth of the index stage's CPU (0.27-0.29 → 0.22-0.24 ms per event at
200,000). Reference counting frees a batch when it is done; what the threshold bounds is the
cyclic garbage waiting for a collection (at most that many objects).

The count only grows with objects that outlive their batch, so a quiet process reaches the
threshold after tens of minutes (the segments stage in the soak: about 4,000 a minute, 50 min).
Garbage in reference cycles made every few seconds therefore piles up as memory for that long:
the readiness check's ``es.options()`` client (127 objects, 18 KB, every 5 s) was the soak's
growing memory. The code on the per-message and periodic paths makes none (a test runs the
index and segments workers with their checks, collector off, and finds no cyclic garbage:
``tests/integration/pipeline/test_garbage.py``).
"""

import gc

THRESHOLDS = (200_000, 20, 100)


def tune_for_throughput() -> None:
    gc.set_threshold(*THRESHOLDS)
