"""Cycle-collector settings for the processes that handle every event: worker, ingest, publish.

Each event allocates thousands of short-lived objects (the parsed envelope, pydantic models, the
documents). With CPython's default thresholds (700, 10, 10) the cycle collector runs thousands of
times a second and walks everything alive in the in-flight batch each time: measured on the bench
machine, a quarter of the index stage's CPU (0.53 → 0.40 ms per event, BENCHMARKS.md). These
objects hardly ever form cycles, so reference counting frees them; the collector is made to run
far less often, not switched off, so the odd cycle is still reclaimed.
"""

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_throughput() -> None:
    gc.set_threshold(*THRESHOLDS)
