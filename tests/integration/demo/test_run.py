import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings


def test_the_demo_prints_the_three_segments_and_is_idempotent(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--users", "120"]) == 0
    first = capsys.readouterr().out
    for name in ("preorder-running-men", "registered-not-returned", "negative-twitter-sentiment"):
        assert f"\n{name}: " in first
    assert "indexed" in first
    assert main(["demo", "--users", "120"]) == 0  # same event ids: nothing changes
    second = capsys.readouterr().out

    def counts(text: str) -> list[str]:
        return [line.split(" — ")[0] for line in text.splitlines() if " member(s) — " in line]

    assert counts(first) == counts(second)
    assert any(not c.endswith(": 0 member(s)") for c in counts(first))
