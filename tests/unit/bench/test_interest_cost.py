"""The interests' cost benchmark runs end to end and prints its baseline beside its figures."""

import pytest

from consumers.bench import interest_cost
from consumers.profile.facts.interests import Taxonomy


def test_the_cost_benchmark_prints_the_fallback_beside_keywords_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if Taxonomy.load().similarity is None:
        pytest.skip("no similarity index")
    assert interest_cost.main(["12"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("12 demo events")
    for row in ("demo tenant", "long tail"):
        line = next(line for line in out.splitlines() if line.strip().startswith(row))
        assert "keywords only" in line and "first pass" in line and "cached" in line
