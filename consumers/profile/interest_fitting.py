"""``authstream interests fit``: the similarity fallback's data, from the labelled examples alone.

It embeds every example of ``consumers/data/interests_examples.jsonl`` and chooses, per term, the
two thresholds of ``consumers/profile/facts/similarity.py`` (and how many neighbours the sense
score reads) by 5-fold cross-validation: each example is scored against the other four fifths
only, the keywords decide first exactly as in the taxonomy, and the choice with the best F0.5 on
the examples wins (precision
counts twice as much as recall: a wrong interest puts a person in the wrong campaign). Running
is fitted first, because running implies fitness. The evaluation files under ``tests/data`` are
never read here.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from consumers.profile.facts.interests import Taxonomy
from consumers.profile.facts.similarity import (
    UNLABELLED,
    Encoder,
    encoder_input,
    example_labels,
    knn_scores,
)

K, TEMPERATURE = 10, 10.0  # 5-fold CV on the examples: k 5/10/15 were close, 10 the steadiest
FOLDS = 5
GIVE_GRID = tuple(round(0.5 + 0.05 * n, 2) for n in range(10))  # 0.50 .. 0.95
KEEP_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
SENSE_K_GRID = (3, 5, 10)
TERMS = ("running", "fitness")  # the order matters: running implies fitness
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Fit:
    term: str
    give_at: float
    keep_at: float
    sense_k: int
    keywords: tuple[float, float]  # precision, recall of the keywords alone, on the examples
    combined: tuple[float, float]  # with the fallback, cross-validated


def _fold(row: dict[str, Any]) -> int:
    return hashlib.sha256(str(row["text"]).lower().encode()).digest()[0] % FOLDS


def cross_validated_scores(
    vectors: npt.NDArray[np.float64],
    labels: npt.NDArray[np.float64],
    folds: npt.NDArray[np.int64],
    k: int,
) -> npt.NDArray[np.float64]:
    """Each example's score from the examples of the other folds only."""
    scores = np.zeros(len(vectors))
    for fold in range(FOLDS):
        held = folds == fold
        if held.any():
            others = np.where(held, UNLABELLED, labels)
            scores[held] = knn_scores(vectors[held] @ vectors.T, others, k, TEMPERATURE)
    return scores


def _figures(predicted: Mask, labels: npt.NDArray[np.float64]) -> tuple[float, float]:
    known = labels != UNLABELLED
    wanted = labels == 1.0
    hits = int((predicted & wanted).sum())
    given = int((predicted & known).sum())
    return (hits / given if given else 0.0), (hits / int(wanted.sum()) if wanted.any() else 0.0)


def _f_half(precision: float, recall: float) -> float:
    return 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0


def fit_term(
    term: str,
    labels: npt.NDArray[np.float64],
    scores: npt.NDArray[np.float64],
    senses: dict[int, npt.NDArray[np.float64]],
    keywords: tuple[Mask, Mask, Mask],
    implied: Mask,
) -> tuple[Fit, Mask]:
    """The best thresholds for one term, and what the taxonomy then gives on the examples."""
    decided, by_name, undecided = keywords
    alone = _figures(decided | by_name | implied, labels)
    best: tuple[float, Fit, Mask] | None = None
    for sense_k, sense in senses.items():
        for give_at in GIVE_GRID:
            for keep_at in KEEP_GRID:
                predicted = (
                    decided | (by_name & (sense >= keep_at)) | (undecided & (scores >= give_at))
                ) | implied
                combined = _figures(predicted, labels)
                quality = _f_half(*combined)
                if best is None or quality > best[0] + 1e-12:
                    fit = Fit(term, give_at, keep_at, sense_k, alone, combined)
                    best = (quality, fit, predicted)
    assert best is not None
    return best[1], best[2]


def fit(rows: Sequence[dict[str, Any]], vectors: npt.NDArray[np.float64]) -> list[Fit]:
    """Thresholds per term for these examples and their (unit) vectors."""
    keywords_only = Taxonomy.load(similarity=False)
    decisions = [
        keywords_only.keyword_decisions(str(row["text"]), str(row.get("category") or ""))
        for row in rows
    ]
    mentions = [
        keywords_only.keyword_mentions(str(row["text"]), str(row.get("category") or ""))
        for row in rows
    ]
    folds = np.array([_fold(row) for row in rows])
    fits: list[Fit] = []
    implied = np.zeros(len(rows), dtype=bool)
    for term in TERMS:
        labels = example_labels(rows, term)
        by_name = np.array([term in name for _, name, _ in decisions])
        decided = np.array([term in found for found, _, _ in decisions]) & ~by_name
        undecided = np.array([term in open_ for _, _, open_ in decisions])
        scores = cross_validated_scores(vectors, labels, folds, K)
        mentioned = np.array([term in names for names in mentions])
        sense_labels = np.where(mentioned, labels, UNLABELLED)
        senses = {k: cross_validated_scores(vectors, sense_labels, folds, k) for k in SENSE_K_GRID}
        keywords = (decided, by_name, undecided)
        result, predicted = fit_term(term, labels, scores, senses, keywords, implied)
        fits.append(result)
        implied = implied | predicted  # running found is fitness found
    return fits


def embed_examples(rows: Sequence[dict[str, Any]], encoder: Encoder) -> npt.NDArray[np.float32]:
    texts = [encoder_input(str(row["text"]), str(row.get("category") or "")) for row in rows]
    vectors: npt.NDArray[np.float32] = encoder(texts)
    return vectors
