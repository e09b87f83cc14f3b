import asyncio

from consumers.bench.segments import format_segments_bench, run_segments_bench
from consumers.core.settings import Settings


def test_the_segments_bench_measures_both_targets_on_a_small_run(settings: Settings) -> None:
    result = asyncio.run(run_segments_bench(settings, 100, 10, 50, 2, 1))
    assert (result.profiles, result.segments) == (100, 10)
    assert result.evaluate_ms > 0 and result.msearch_ms > 0
    assert result.changes == result.announced == result.entries == 100
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    printed = format_segments_bench(result)
    assert "change → segment.entered" in printed and printed.splitlines()[-1].startswith("{")
