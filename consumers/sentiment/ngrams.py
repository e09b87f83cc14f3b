"""Word and word-pair evidence for the mention classifier: a naive Bayes table learnt from the
training file, read as two numbers per text.

Why: a sentence embedding says what a post is about and roughly how it is said, but shop talk has
cues a general-purpose model weighs poorly: "still no", "zero stars", "refund" next to "weeks",
"no blisters". Counting, per label, which words and word pairs the training posts use gives those
cues directly. The table is small (a few thousand entries), is data (stored with the classifier's
weights) and costs microseconds per mention.

The classifier takes two numbers from it: how much more the words say positive than negative, and
how much more they say neutral than either. When the classifier is trained, each training post's
two numbers come from a table made *without* that post (five folds, by a hash of the text): a table
that has seen the post would vouch for it too well and the classifier would learn to trust it more
than it deserves on new posts.
"""

import hashlib
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
CLASSES = 3  # negative, neutral, positive: the classifier's LABELS order
FOLDS = 5
ALPHA = 1.0  # add-one smoothing
MIN_COUNT = 2  # a word seen in one post only says more about that post than about the label

_TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']", re.IGNORECASE)
_PUNCTUATION = frozenset('.,!?;:"()-')


def grams(text: str) -> set[str]:
    """Lower-cased words, emoji and other symbols one by one, and adjacent pairs of them."""
    tokens = [t.lower() for t in _TOKEN.findall(text) if t not in _PUNCTUATION]
    tokens = ["@brand" if t == "innovashoes" else t for t in tokens]
    return set(tokens) | {f"{a} {b}" for a, b in itertools.pairwise(tokens)}


@dataclass(frozen=True)
class NgramTable:
    log_likelihood: dict[str, tuple[float, float, float]]  # per gram: log P(gram | label)

    def features(self, texts: Sequence[str]) -> Matrix:
        """Per text: positive-versus-negative evidence, then neutral-versus-the-stronger-one."""
        out = np.zeros((len(texts), 2))
        for row, text in enumerate(texts):
            total = [0.0] * CLASSES
            for gram in grams(text):
                found = self.log_likelihood.get(gram)
                if found is not None:
                    total = [a + b for a, b in zip(total, found, strict=True)]
            negative, neutral, positive = total
            out[row] = (positive - negative, neutral - max(negative, positive))
        return out

    def document(self) -> dict[str, list[float]]:
        table = sorted(self.log_likelihood.items())
        return {gram: [round(v, 4) for v in values] for gram, values in table}


def fit_table(texts: Sequence[str], labels: Sequence[int]) -> NgramTable:
    """Multinomial naive Bayes over the grams present in each post (each counted once a post)."""
    counts: dict[str, list[int]] = {}
    for text, label in zip(texts, labels, strict=True):
        for gram in grams(text):
            counts.setdefault(gram, [0] * CLASSES)[label] += 1
    kept = {g: c for g, c in counts.items() if sum(c) >= MIN_COUNT}
    totals = [sum(c[k] for c in kept.values()) for k in range(CLASSES)]
    size = len(kept)
    table = {
        g: (
            math.log((c[0] + ALPHA) / (totals[0] + ALPHA * size)),
            math.log((c[1] + ALPHA) / (totals[1] + ALPHA * size)),
            math.log((c[2] + ALPHA) / (totals[2] + ALPHA * size)),
        )
        for g, c in kept.items()
    }
    return NgramTable(table)


def parse_table(document: dict[str, list[float]]) -> NgramTable:
    table: dict[str, tuple[float, float, float]] = {}
    for gram, values in document.items():
        if len(values) != CLASSES:
            raise ValueError(f"n-gram {gram!r}: {len(values)} values, expected {CLASSES}")
        table[gram] = (float(values[0]), float(values[1]), float(values[2]))
    return NgramTable(table)


def fold_of(text: str) -> int:
    return hashlib.sha256(text.encode()).digest()[0] % FOLDS


def out_of_fold(texts: Sequence[str], labels: Sequence[int]) -> Matrix:
    """Each text's features from a table made from the other folds only."""
    folds = [fold_of(t) for t in texts]
    out = np.zeros((len(texts), 2))
    for fold in range(FOLDS):
        inside = [i for i, f in enumerate(folds) if f == fold]
        if not inside:
            continue
        rest = [i for i, f in enumerate(folds) if f != fold]
        table = fit_table([texts[i] for i in rest], [labels[i] for i in rest])
        out[inside] = table.features([texts[i] for i in inside])
    return out
