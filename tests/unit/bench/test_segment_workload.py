from datetime import UTC, datetime
from pathlib import Path

from consumers.bench.segment_workload import bench_segments, changed_profiles, write_segment_files
from consumers.segments.definitions import load_segments
from consumers.segments.membership import Evaluator

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_fifty_valid_segment_files_that_tell_the_demo_customers_apart(tmp_path: Path) -> None:
    segments = bench_segments(50)
    write_segment_files(tmp_path, segments)
    loaded = load_segments(tmp_path)  # valid files, as the workers read them
    assert len(loaded) == 50
    assert {"preorder-running-men", "registered-not-returned"} <= set(loaded)
    profiles = changed_profiles(300, NOW)
    evaluator = Evaluator(loaded.values())
    members = [evaluator.qualifying(p, NOW) for p in profiles]
    entered = set().union(*members)
    assert len(entered) >= 30  # most segments have members: the evaluation is not trivial
    assert any(not m for m in members)
