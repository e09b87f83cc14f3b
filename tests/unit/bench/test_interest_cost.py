"""The interests' cost benchmark runs end to end and prints its baseline beside its figures."""

import pytest

from consumers.bench import interest_cost
from consumers.profile.facts.interests import Taxonomy
from tests.helpers import prerequisite_missing


def test_the_cost_benchmark_prints_the_fallback_beside_keywords_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    similarity = Taxonomy.load().similarity
    if similarity is None or not similarity.encoder_ready():
        prerequisite_missing("the similarity fallback is off (no sentence model or index)")
    assert interest_cost.main(["12"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("12 demo events")
    for row in ("demo tenant", "long tail"):
        line = next(line for line in out.splitlines() if line.strip().startswith(row))
        assert "keywords only" in line and "first pass" in line and "cached" in line
