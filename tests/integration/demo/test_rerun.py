"""The demo is idempotent across --users (README): a second run with more customers on the same
prefix finishes, and a demo whose stages do not finish says what is missing, exit 2."""

import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from consumers.demo import run


def test_a_rerun_with_more_users_on_the_same_prefix_finishes(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first run stored the passers-by's posts; positional ids gave the same ids to the
    # second run's customers, whose summaries then never came (a 300 s wait, then a crash).
    monkeypatch.setattr(run, "WAIT_S", 120.0)  # a hang fails in 2 minutes, not 5
    assert main(["demo", "--users", "0"]) == 0
    assert main(["demo", "--users", "60"]) == 0
    out = capsys.readouterr().out
    assert "InnovaShoes demo: 60 customers" in out
    assert "\nnegative-twitter-sentiment: " in out


def test_a_demo_that_gives_up_waiting_says_what_is_missing(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "WAIT_S", -1.0)  # gives up at the first look
    assert main(["demo", "--users", "30"]) == 2
    err = capsys.readouterr().err
    assert "the demo gave up waiting after" in err
    assert "events to index still missing" in err
