import json
import os

from consumers.bench.soak import (
    SoakResult,
    format_soak,
    process_sample,
    slope_per_minute,
    summarize,
)


def test_the_slope_is_per_minute_and_zero_for_a_flat_series() -> None:
    assert slope_per_minute([(0, 5), (60, 5), (120, 5)]) == 0
    assert slope_per_minute([(0, 10), (30, 11), (60, 12)]) == 2  # +1 per 30 s
    assert slope_per_minute([(0, 3)]) == 0


def test_a_process_sample_reads_memory_descriptors_and_sockets_from_proc() -> None:
    rss, fds, sockets = process_sample(os.getpid())
    assert rss > 10 and fds >= 3 and 0 <= sockets <= fds


def test_memory_that_levels_off_has_a_flat_second_half_and_a_leak_does_not() -> None:
    minute = 60.0
    levels_off = [(t * minute, min(100 + 10 * t, 140)) for t in range(21)]  # stops at minute 4
    leaks = [(t * minute, 100 + 1.0 * t) for t in range(21)]  # a megabyte a minute, always
    result = SoakResult(20, 300, None, 360_000, 0, 0)
    summarize(result, {"cache": levels_off, "leak": leaks}, 20 * minute)
    assert result.slopes["cache"] > 0.5 and result.second_half["cache"] == 0
    assert result.slopes["leak"] == result.second_half["leak"] == 1
    assert (result.first["cache"], result.middle["cache"], result.last["cache"]) == (110, 140, 140)
    shown = format_soak(result)
    assert "+0.000" in shown.splitlines()[3]  # the cache's second half
    assert "broker dropped" not in shown
    assert json.loads(shown.splitlines()[-1])["second_half"] == {"cache": 0.0, "leak": 1.0}
