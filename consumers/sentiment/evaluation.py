"""How good is the mention scorer? Accuracy on a labelled file, split into dev and held-out.

The labelled file (JSON lines: id, text, label, kind, handle, created_at) is split by a hash of
each ``id``, so the split never changes when rows are added or reordered. The brand lexicon may be
tuned on the *dev* half only; the *held-out* half is the figure to trust. Two figures matter:

- accuracy over the three classes (negative / neutral / positive);
- accuracy on posts labelled positive or negative: the campaign looks for unhappy followers, so
  what counts is telling a complaint from praise. A complaint scored neutral counts as a miss.

``authstream mentions evaluate FILE`` (or ``python -m consumers.sentiment.evaluation FILE``)
prints plain VADER, VADER with the brand lexicon and the classifier side by side, on the whole
file and on each half.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from consumers.sentiment.models import classifier_installed
from consumers.sentiment.scoring import Label, Scorer, score_mention, score_plain

LABELS: tuple[Label, ...] = get_args(Label)
Split = Literal["all", "dev", "heldout"]


@dataclass(frozen=True)
class LabelledMention:
    id: str
    text: str
    label: Label
    kind: str = "plain"
    handle: str = ""
    created_at: str = ""


def split_of(mention_id: str) -> Literal["dev", "heldout"]:
    """Dev or held-out, from the first byte of the SHA-256 of the id (about half each)."""
    return "dev" if hashlib.sha256(mention_id.encode()).digest()[0] % 2 == 0 else "heldout"


def parse_labelled(lines: Iterable[str]) -> list[LabelledMention]:
    """Rows of a labelled JSON-lines file; blank lines are skipped, bad rows are errors."""
    rows: list[LabelledMention] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        label = data.get("label")
        if label not in LABELS or not isinstance(data.get("text"), str) or not data.get("id"):
            raise ValueError(f"line {number}: needs id, text and a label in {LABELS}")
        rows.append(
            LabelledMention(
                str(data["id"]),
                data["text"],
                label,
                str(data.get("kind", "plain")),
                str(data.get("handle", "")),
                str(data.get("created_at", "")),
            )
        )
    return rows


@dataclass(frozen=True)
class Tally:
    n: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None


@dataclass(frozen=True)
class Miss:
    row: LabelledMention
    predicted: Label
    compound: float


@dataclass(frozen=True)
class Evaluation:
    name: str
    overall: Tally  # all three classes
    polar: Tally  # rows labelled positive or negative; predicting neutral is a miss
    confusion: tuple[tuple[int, ...], ...]  # [gold][predicted], both in LABELS order
    per_kind: dict[str, Tally]
    misses: tuple[Miss, ...]


def evaluate(rows: Sequence[LabelledMention], scorer: Scorer, name: str = "") -> Evaluation:
    """Score every row and count; pure apart from what ``scorer`` does."""
    confusion = [[0] * len(LABELS) for _ in LABELS]
    kinds: dict[str, list[int]] = {}
    misses: list[Miss] = []
    for row in rows:
        score = scorer(row.text)
        confusion[LABELS.index(row.label)][LABELS.index(score.label)] += 1
        tally = kinds.setdefault(row.kind, [0, 0])
        tally[0] += 1
        if score.label == row.label:
            tally[1] += 1
        else:
            misses.append(Miss(row, score.label, score.compound))
    diagonal = sum(confusion[i][i] for i in range(len(LABELS)))
    polar = [LABELS.index("negative"), LABELS.index("positive")]
    return Evaluation(
        name=name,
        overall=Tally(len(rows), diagonal),
        polar=Tally(sum(sum(confusion[i]) for i in polar), sum(confusion[i][i] for i in polar)),
        confusion=tuple(tuple(line) for line in confusion),
        per_kind={kind: Tally(n, ok) for kind, (n, ok) in sorted(kinds.items())},
        misses=tuple(misses),
    )


def select(rows: Iterable[LabelledMention], split: Split) -> list[LabelledMention]:
    return [row for row in rows if split == "all" or split_of(row.id) == split]


def evaluate_file(
    path: str | Path, scorer: Scorer = score_mention, *, split: Split = "all", name: str = ""
) -> Evaluation:
    with open(path, encoding="utf-8") as handle:
        rows = parse_labelled(handle)
    return evaluate(select(rows, split), scorer, name or split)


def scorers() -> list[tuple[str, Scorer]]:
    """Plain VADER, VADER with the brand lexicon, and the classifier when its weights are there."""
    found: list[tuple[str, Scorer]] = [("vader", score_plain), ("vader+brand", score_mention)]
    if classifier_installed():
        from consumers.sentiment.classifier import shared_classifier

        found.append(("classifier", shared_classifier()))
    return found


def compare_file(path: str | Path) -> list[Evaluation]:
    """Every scorer on all rows, the dev and held-out halves."""
    splits: tuple[Split, ...] = ("all", "dev", "heldout")
    return [
        evaluate_file(path, scorer, split=split, name=f"{label} / {split}")
        for split in splits
        for label, scorer in scorers()
    ]


def _percent(tally: Tally) -> str:
    accuracy = tally.accuracy
    return "   n/a" if accuracy is None else f"{100 * accuracy:5.1f}%"


def format_evaluation(result: Evaluation, *, misses: int = 0) -> str:
    """A readable table: headline figures, the confusion matrix, per-kind accuracy."""
    lines = [
        f"== {result.name or 'evaluation'} ==",
        f"3-class accuracy      {_percent(result.overall)}  ({result.overall.correct}/"
        f"{result.overall.n})",
        f"positive vs negative  {_percent(result.polar)}  ({result.polar.correct}/"
        f"{result.polar.n})",
        "",
        "gold \\ predicted " + "".join(f"{label:>10}" for label in LABELS),
    ]
    for label, line in zip(LABELS, result.confusion, strict=True):
        lines.append(f"{label:<17}" + "".join(f"{count:>10}" for count in line))
    lines += ["", f"{'kind':<17}{'n':>5}{'accuracy':>10}"]
    lines += [
        f"{kind:<17}{tally.n:>5}{_percent(tally):>10}" for kind, tally in result.per_kind.items()
    ]
    for miss in result.misses[:misses]:
        lines.append(
            f"  {miss.row.label:>8} -> {miss.predicted:<8} {miss.compound:+.3f} "
            f"[{miss.row.kind}] {miss.row.text}"
        )
    return "\n".join(lines)


def format_comparison(results: Sequence[Evaluation]) -> str:
    """One line per evaluation: the before/after summary."""
    lines = [f"{'scorer / split':<24}{'n':>5}{'3-class':>10}{'pos-vs-neg':>12}"]
    lines += [
        f"{r.name:<24}{r.overall.n:>5}{_percent(r.overall):>10}{_percent(r.polar):>12}"
        for r in results
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m consumers.sentiment.evaluation FILE", file=sys.stderr)
        return 2
    results = compare_file(args[0])
    print(format_comparison(results))
    for result in results:
        print("\n" + format_evaluation(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
