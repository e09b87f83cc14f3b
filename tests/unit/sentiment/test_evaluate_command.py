"""``authstream mentions evaluate FILE``: figures, the confusion matrix, and clear failures."""

import json
from pathlib import Path

import pytest

from consumers.cli.main import main

LABELLED = Path(__file__).resolve().parents[2] / "data" / "mentions_labelled.jsonl"


def test_evaluate_prints_accuracy_and_the_confusion_matrix_before_and_after_the_lexicon(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mentions", "evaluate", str(LABELLED), "--split", "heldout"]) == 0
    out = capsys.readouterr().out
    for name in ("vader / all", "vader+brand / all", "vader+brand / heldout"):
        assert name in out
    assert "== vader+brand / heldout ==" in out
    assert "== vader+brand / dev ==" not in out  # tables for the chosen split only
    assert "gold \\ predicted   negative   neutral  positive" in out
    assert "positive vs negative" in out


def test_evaluate_refuses_a_file_it_cannot_read_or_understand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mentions", "evaluate", str(tmp_path / "nope.jsonl")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "1", "text": "hi", "label": "angry"}) + "\n")
    assert main(["mentions", "evaluate", str(bad)]) == 1
    assert "line 1: needs id, text and a label" in capsys.readouterr().err
