"""`authstream interests evaluate`: the report, targets as an exit status, clear refusals."""

import json
from pathlib import Path

import pytest

from consumers.cli.main import main

LABELLED = Path(__file__).resolve().parents[2] / "data" / "interests_labelled.jsonl"


def test_report_and_met_targets(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["interests", "evaluate", str(LABELLED), "--target", "fitness=0.9/0.8",
         "--target", "running=0.9/0.8"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("470 labelled rows: ")
    assert any(line.startswith("fitness ") for line in out.splitlines())
    assert "targets met: fitness P≥0.9 R≥0.8, running P≥0.9 R≥0.8" in out


def test_a_missed_target_exits_1_and_says_by_how_much(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taxonomy = tmp_path / "coarse.json"
    terms = ["outdoors", "cycling", "fashion", "technology", "music", "travel", "food", "gaming"]
    coarse = {"fitness": ["sports", "training"], "running": ["running"]} | {t: [t] for t in terms}
    taxonomy.write_text(json.dumps(coarse))
    code = main(
        ["interests", "evaluate", str(LABELLED), "--taxonomy", str(taxonomy),
         "--target", "fitness=0.9/0.8", "--mistakes", "3", "--term", "fitness"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "target missed, tune: fitness: precision" in out
    assert "short by" in out
    assert "fitness (tune): " in out and "  -fitness: like " in out


def test_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interests", "evaluate", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["interests", "evaluate", str(LABELLED), "--target", "knitting=0.9/0.8"]) == 2
    assert "no such term(s) in the taxonomy: knitting" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "like", "text": "x", "should": ["knitting"]}\n')
    assert main(["interests", "evaluate", str(bad)]) == 1
    assert "line 1: unknown term(s) ['knitting']" in capsys.readouterr().err
