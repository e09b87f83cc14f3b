"""Evaluation arithmetic on a hand-made set, the labelled data set, and the quality target."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from consumers.sentiment.classifier import shared_classifier
from consumers.sentiment.evaluation import (
    LABELS,
    Evaluation,
    LabelledMention,
    compare_file,
    evaluate,
    evaluate_file,
    format_comparison,
    format_evaluation,
    parse_labelled,
    select,
    split_of,
)
from consumers.sentiment.scoring import MentionScore, label_for

LABELLED = Path(__file__).resolve().parents[2] / "data" / "mentions_labelled.jsonl"
# Written before the classifier's second version and evaluated once, at the end (BENCHMARKS.md)
FRESH = Path(__file__).resolve().parents[2] / "data" / "mentions_fresh.jsonl"
TARGET = 0.85  # positive-versus-negative accuracy the campaign asked for


def by_table(text: str) -> MentionScore:
    """A scorer reading its answer from the text, so the counts below are known by hand."""
    value = {"pos": 0.6, "neg": -0.6, "neu": 0.0}[text.split()[0]]
    return MentionScore(value, label_for(value))


def row(mention_id: str, predicted: str, gold: str, kind: str) -> LabelledMention:
    return LabelledMention(mention_id, f"{predicted} text", gold, kind)  # type: ignore[arg-type]


TINY = [
    row("1", "pos", "positive", "plain"),
    row("2", "pos", "positive", "emoji"),
    row("3", "neg", "positive", "sarcasm"),
    row("4", "neg", "negative", "plain"),
    row("5", "neu", "negative", "delivery"),  # a complaint scored neutral: a polar miss
    row("6", "pos", "negative", "sarcasm"),
    row("7", "neu", "neutral", "question"),
    row("8", "pos", "neutral", "question"),
]


def test_evaluation_arithmetic_on_a_hand_made_set() -> None:
    result = evaluate(TINY, by_table, "tiny")
    assert (result.overall.n, result.overall.correct) == (8, 4)
    assert result.overall.accuracy == 0.5
    assert (result.polar.n, result.polar.correct) == (6, 3)
    assert result.polar.accuracy == 0.5
    # rows: gold negative, neutral, positive; columns: predicted, same order
    assert LABELS == ("negative", "neutral", "positive")
    assert result.confusion == ((1, 1, 1), (0, 1, 1), (1, 0, 2))
    assert {k: (t.n, t.correct) for k, t in result.per_kind.items()} == {
        "delivery": (1, 0),
        "emoji": (1, 1),
        "plain": (2, 2),
        "question": (2, 1),
        "sarcasm": (2, 0),
    }
    assert [m.row.id for m in result.misses] == ["3", "5", "6", "8"]
    assert result.misses[1].predicted == "neutral"


def test_empty_sets_have_no_accuracy_and_format_as_na() -> None:
    result = evaluate([row("7", "neu", "neutral", "question")], by_table)
    assert result.polar.n == 0
    assert result.polar.accuracy is None
    assert "n/a" in format_evaluation(result)
    assert evaluate([], by_table).overall.accuracy is None


def test_format_shows_figures_matrix_and_kinds() -> None:
    text = format_evaluation(evaluate(TINY, by_table, "tiny"), misses=2)
    assert "== tiny ==" in text
    assert "3-class accuracy       50.0%  (4/8)" in text
    assert "positive vs negative   50.0%  (3/6)" in text
    assert "negative                  1         1         1" in text
    assert "sarcasm              2      0.0%" in text
    assert text.count(" -> ") == 2


def test_split_is_deterministic_balanced_and_disjoint() -> None:
    ids = [str(n) for n in range(2000)]
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    dev = Counter(split_of(i) for i in ids)["dev"]
    assert 900 < dev < 1100
    rows = [row(i, "pos", "positive", "plain") for i in ids[:50]]
    halves = select(rows, "dev") + select(rows, "heldout")
    assert sorted(r.id for r in halves) == sorted(ids[:50])
    assert select(rows, "all") == rows


def test_parse_labelled_skips_blank_lines_and_refuses_bad_rows() -> None:
    good = json.dumps({"id": "1", "text": "hi", "label": "neutral", "kind": "plain"})
    assert [r.id for r in parse_labelled([good, "", "  "])] == ["1"]
    for bad in ({"id": "1", "text": "hi", "label": "angry"}, {"text": "hi", "label": "neutral"}):
        with pytest.raises(ValueError, match="line 1"):
            parse_labelled([json.dumps(bad)])


def test_evaluate_file_and_splits(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r.__dict__) for r in TINY) + "\n", "utf-8")
    everything = evaluate_file(path, by_table)
    assert everything.overall.n == 8
    dev = evaluate_file(path, by_table, split="dev")
    heldout = evaluate_file(path, by_table, split="heldout")
    assert dev.overall.n + heldout.overall.n == 8
    assert dev.overall.correct + heldout.overall.correct == everything.overall.correct


# --- the real labelled set --------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled() -> list[LabelledMention]:
    with LABELLED.open(encoding="utf-8") as handle:
        return parse_labelled(handle)


def test_labelled_set_is_big_varied_and_well_formed(labelled: list[LabelledMention]) -> None:
    assert len(labelled) >= 200
    assert len({r.id for r in labelled}) == len(labelled)
    assert len({r.text for r in labelled}) == len(labelled)
    share = {label: n / len(labelled) for label, n in Counter(r.label for r in labelled).items()}
    assert share["negative"] == pytest.approx(0.4, abs=0.05)
    assert share["positive"] == pytest.approx(0.4, abs=0.05)
    assert share["neutral"] == pytest.approx(0.2, abs=0.05)
    kinds = Counter(r.kind for r in labelled)
    for kind in ("sarcasm", "negation", "emoji", "slang", "product", "delivery", "question"):
        assert kinds[kind] >= 8, kind
    for r in labelled:
        assert r.handle
        datetime.fromisoformat(r.created_at)
    halves = Counter(split_of(r.id) for r in labelled)
    assert min(halves.values()) >= 100


def test_the_fresh_set_is_well_formed_and_apart_from_the_labelled_set(
    labelled: list[LabelledMention],
) -> None:
    with FRESH.open(encoding="utf-8") as handle:
        fresh = parse_labelled(handle)
    assert len(fresh) >= 120
    assert len({r.id for r in fresh}) == len(fresh)
    assert not {r.id for r in fresh} & {r.id for r in labelled}
    assert not {r.text for r in fresh} & {r.text for r in labelled}
    share = {label: n / len(fresh) for label, n in Counter(r.label for r in fresh).items()}
    assert share["negative"] == pytest.approx(0.4, abs=0.05)
    assert share["positive"] == pytest.approx(0.4, abs=0.05)
    assert share["neutral"] == pytest.approx(0.2, abs=0.05)
    for r in fresh:
        assert r.handle
        datetime.fromisoformat(r.created_at)


@pytest.fixture(scope="module")
def comparison() -> dict[str, Evaluation]:
    results = compare_file(LABELLED)
    print("\n" + format_comparison(results))
    by_name = {r.name: r for r in results}
    print("\n" + format_evaluation(by_name["classifier / heldout"]))
    return by_name


def test_brand_lexicon_beats_plain_vader_on_every_split(comparison: dict[str, Evaluation]) -> None:
    for split in ("all", "dev", "heldout"):
        plain, brand = comparison[f"vader / {split}"], comparison[f"vader+brand / {split}"]
        assert brand.polar.correct > plain.polar.correct, split
        assert brand.overall.correct > plain.overall.correct, split


def test_quality_does_not_regress(comparison: dict[str, Evaluation]) -> None:
    """Floors at the figures measured when the lexicon and the classifier were frozen
    (BENCHMARKS.md, sentiment). The held-out half was never tuned on: it is the figure to quote."""
    floors = {
        "vader+brand": {"all": (0.76, 0.73), "dev": (0.87, 0.85), "heldout": (0.63, 0.59)},
        "classifier": {"all": (0.90, 0.93), "dev": (0.93, 0.96), "heldout": (0.87, 0.90)},
    }
    for scorer, splits in floors.items():
        for split, (three_class, polar) in splits.items():
            result = comparison[f"{scorer} / {split}"]
            assert result.overall.accuracy is not None and result.polar.accuracy is not None
            assert result.overall.accuracy >= three_class, (scorer, split, result.overall)
            assert result.polar.accuracy >= polar, (scorer, split, result.polar)


def test_the_classifier_beats_the_lexicon_where_it_counts(
    comparison: dict[str, Evaluation],
) -> None:
    for split in ("all", "heldout"):
        lexicon, classifier = (
            comparison[f"vader+brand / {split}"],
            comparison[f"classifier / {split}"],
        )
        assert classifier.polar.correct > lexicon.polar.correct, split


def test_positive_versus_negative_target_on_the_full_set_and_the_held_out_half(
    comparison: dict[str, Evaluation],
) -> None:
    """The target (issue 10): 93.4% on the full set, 90.2% on the held-out half when the second
    version was frozen (before it: 83.2% / 80.4%; VADER+brand lexicon: 73.5% / 59.8%)."""
    full = comparison["classifier / all"].polar.accuracy
    heldout = comparison["classifier / heldout"].polar.accuracy
    print(f"pos-vs-neg: full set {full}, held-out {heldout}")
    assert full is not None and full >= TARGET
    assert heldout is not None and heldout >= TARGET


def test_the_fresh_set_evaluated_once_at_the_end_stays_there() -> None:
    """A floor at the one evaluation of the fresh set, made after the second version was frozen:
    88.7% over three classes, 91.9% positive-vs-negative (the first version: 73.4% / 79.8%)."""
    fresh = evaluate_file(FRESH, shared_classifier(), name="classifier / fresh")
    print("\n" + format_evaluation(fresh))
    assert fresh.overall.accuracy is not None and fresh.overall.accuracy >= 0.88
    assert fresh.polar.accuracy is not None and fresh.polar.accuracy >= max(0.91, TARGET)
