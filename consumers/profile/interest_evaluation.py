"""How far can a marketer trust the interests? Precision and recall per taxonomy term on a
labelled file, split into a tuning half and a held-out part.

Each labelled row is one thing a user gives us: a Facebook like (page name and category), a
declared interest (``user_metadata.interests``) or a product category (behaviour events). It lists
the terms it ``should`` give, the ones it ``should_not`` give (the mistakes worth naming), and the
ones it ``may`` give either way (ambiguous: "basketball" may or may not be fitness). A term that is
in none of the lists should not be given either: precision counts it as a false positive.

The rows go through the same code the profile fold uses, so the figures are the fold's. The split
is by a hash of the row's text (and category), so it never changes when rows are added or
reordered: tune the taxonomy on ``tune`` only; ``heldout`` is the figure to trust.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from consumers.profile.facts.interests import Taxonomy, interests_from

Kind = Literal["like", "declared", "product"]
Split = Literal["all", "tune", "heldout"]
KINDS: tuple[Kind, ...] = ("like", "declared", "product")
HELDOUT_SHARE = 4  # one row in four is held out


@dataclass(frozen=True)
class LabelledRow:
    kind: Kind
    text: str
    category: str = ""
    should: frozenset[str] = frozenset()
    should_not: frozenset[str] = frozenset()
    may: frozenset[str] = frozenset()

    @property
    def split(self) -> Literal["tune", "heldout"]:
        key = f"{self.kind}|{self.text}|{self.category}".lower().encode()
        return "heldout" if hashlib.sha256(key).digest()[0] % HELDOUT_SHARE == 0 else "tune"


def parse_labelled(lines: Iterable[str], terms: frozenset[str]) -> list[LabelledRow]:
    """Rows of a labelled JSON-lines file; a row naming an unknown term or kind is an error."""
    rows: list[LabelledRow] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        kind, text = data.get("kind"), data.get("text")
        if kind not in KINDS or not isinstance(text, str) or not text.strip():
            raise ValueError(f"line {number}: needs a kind in {KINDS} and a text")
        lists = {name: frozenset(data.get(name) or []) for name in ("should", "should_not", "may")}
        unknown = set().union(*lists.values()) - terms
        if unknown:
            raise ValueError(f"line {number}: unknown term(s) {sorted(unknown)}")
        rows.append(LabelledRow(kind, text, str(data.get("category") or ""), **lists))
    return rows


def predict(row: LabelledRow, taxonomy: Taxonomy) -> frozenset[str]:
    """The terms the profile fold takes from this row (the fold's own functions)."""
    if row.kind == "product":
        return taxonomy.match(row.text)
    user: dict[str, Any]
    if row.kind == "declared":
        user = {"user_metadata": {"interests": [row.text]}}
    else:
        like = {"name": row.text} | ({"category": row.category} if row.category else {})
        user = {"likes": [like]}
    return frozenset(interests_from(user, [], taxonomy))


@dataclass
class Scores:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        given = self.true_positives + self.false_positives
        return self.true_positives / given if given else None

    @property
    def recall(self) -> float | None:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else None


def evaluate(
    rows: Sequence[LabelledRow], taxonomy: Taxonomy, split: Split = "all"
) -> dict[str, Scores]:
    scores = {term: Scores() for term in sorted(taxonomy.names)}
    for row in rows:
        if split != "all" and row.split != split:
            continue
        given = predict(row, taxonomy)
        for term, score in scores.items():
            if term in row.may:
                continue
            wanted, got = term in row.should, term in given
            if wanted and got:
                score.true_positives += 1
            elif got:
                score.false_positives += 1
                score.mistakes.append(f"+{term}: {_describe(row)}")
            elif wanted:
                score.false_negatives += 1
                score.mistakes.append(f"-{term}: {_describe(row)}")
    return scores


def _describe(row: LabelledRow) -> str:
    return f"{row.kind} {row.text!r}" + (f" ({row.category})" if row.category else "")


def _percent(value: float | None) -> str:
    return "   -" if value is None else f"{value * 100:5.1f}%"


def format_report(rows: Sequence[LabelledRow], taxonomy: Taxonomy) -> str:
    """Precision and recall per term: tuning rows, held-out rows, and all rows."""
    parts: tuple[Split, ...] = ("tune", "heldout", "all")
    scores = {split: evaluate(rows, taxonomy, split) for split in parts}
    counts = {split: sum(row.split == split for row in rows) for split in ("tune", "heldout")}
    lines = [
        f"{len(rows)} labelled rows: {counts['tune']} tune, {counts['heldout']} held out",
        (
            f"{'term':<12}" + "".join(f" {p + ' P':>8} {p + ' R':>8} {'n+':>4} " for p in parts)
        ).rstrip(),
    ]
    for term in sorted(taxonomy.names):
        cells = []
        for split in parts:
            score = scores[split][term]
            wanted = score.true_positives + score.false_negatives
            cells.append(
                f" {_percent(score.precision):>8} {_percent(score.recall):>8} {wanted:>4} "
            )
        lines.append((f"{term:<12}" + "".join(cells)).rstrip())
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    term: str
    precision: float
    recall: float

    @classmethod
    def parse(cls, text: str) -> Target:
        """``fitness=0.9/0.8``: precision at least 0.9 at recall at least 0.8."""
        term, _, figures = text.partition("=")
        precision, _, recall = figures.partition("/")
        try:
            target = cls(term.strip(), float(precision), float(recall))
        except ValueError:
            raise ValueError(f"write a target as TERM=PRECISION/RECALL, not {text!r}") from None
        if not (0.0 <= target.precision <= 1.0 and 0.0 <= target.recall <= 1.0):
            raise ValueError(f"precision and recall are within 0..1, not {text!r}")
        return target

    def shortfall(self, scores: Scores) -> str | None:
        """What is missing, in words; None when the target is met."""
        precision, recall = scores.precision or 0.0, scores.recall or 0.0
        missing = [
            f"{name} {value * 100:.1f}% < {goal * 100:.0f}% (short by {(goal - value) * 100:.1f})"
            for name, value, goal in (
                ("precision", precision, self.precision),
                ("recall", recall, self.recall),
            )
            if value < goal
        ]
        return f"{self.term}: " + ", ".join(missing) if missing else None
