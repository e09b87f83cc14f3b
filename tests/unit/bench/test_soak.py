import os

from consumers.bench.soak import process_sample, slope_per_minute


def test_the_slope_is_per_minute_and_zero_for_a_flat_series() -> None:
    assert slope_per_minute([(0, 5), (60, 5), (120, 5)]) == 0
    assert slope_per_minute([(0, 10), (30, 11), (60, 12)]) == 2  # +1 per 30 s
    assert slope_per_minute([(0, 3)]) == 0


def test_a_process_sample_reads_memory_descriptors_and_sockets_from_proc() -> None:
    rss, fds, sockets = process_sample(os.getpid())
    assert rss > 10 and fds >= 3 and 0 <= sockets <= fds
