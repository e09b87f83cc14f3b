"""The mention classifier: all-MiniLM-L6-v2 embeddings (three layers), VADER's scores and a word
and word-pair table, into a multinomial logistic regression trained on
``consumers/data/sentiment_training.jsonl``.

Why: VADER with the brand lexicon reads words, so sarcasm ("great job, 3 weeks for a refund"),
slang and factual complaints ("still processing after 10 days") defeat it. A sentence embedding
carries what the sentence is about and how it is said; a linear model on top of it, with VADER's
two scores as two more features, learns from labelled examples what a complaint looks like.
Two additions (version 2), each chosen by cross-validation on the training file: the mean-pooled
states of encoder layers 4 and 5 beside the last one (middle layers keep more of the words
themselves, which a similarity-trained last layer smooths away; they come from the same forward
pass, so they cost nothing), and a naive Bayes table of words and word pairs learnt from the
training file (``consumers/sentiment/ngrams.py``), read as two numbers per post.

The training file is separate from the evaluation sets (``tests/data/mentions_labelled.jsonl``,
``tests/data/mentions_fresh.jsonl``) and was written for this purpose; a test checks no training
post shares more than half its words with an evaluation post. The weights are data
(``consumers/data/sentiment_classifier.json``), made by ``python -m consumers.sentiment.classifier
train``; ``... check`` retrains and compares, and a unit test checks the weights were made from the
training file as it is (its digest). Training is plain numpy:
Newton's method on the L2-regularised log-likelihood, so the result is the exact optimum, with no
learning rate or iteration count to tune.

The hyper-parameters (layers, embedding scale 3, n-gram scale, L2) were chosen by 5-fold
cross-validation on the training file alone (BENCHMARKS.md, sentiment section).
"""

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from consumers.sentiment.embedding import MiniLM, shared_model
from consumers.sentiment.ngrams import NgramTable, fit_table, out_of_fold, parse_table
from consumers.sentiment.scoring import (
    Label,
    MentionScore,
    label_for,
    score_mention,
    score_plain,
)

LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
LAYERS = (4, 5, 6)  # encoder layers whose mean-pooled states are features (6: the embedding)
EMBEDDING_SCALE = 3.0
NGRAM_SCALE = 0.3  # the n-gram evidence is a sum of log-likelihoods: tens, not units
L2 = 1e-3
VERSION = 2
WIDTH = 384 * len(LAYERS) + 2 + 2  # embeddings, two VADER scores, two n-gram scores
NAME = f"minilm+vader-lr/{VERSION}"
DATA = Path(__file__).resolve().parents[1] / "data"
TRAINING_FILE = DATA / "sentiment_training.jsonl"
WEIGHTS_FILE = "sentiment_classifier.json"

Matrix = npt.NDArray[np.float64]


def features(texts: Sequence[str], model: MiniLM, ngrams: Matrix) -> Matrix:
    """One row per text: the scaled embeddings, plain VADER's and VADER+brand's compound, then the
    scaled n-gram evidence (``ngrams``: one row of two per text, see ``ngrams.py``)."""
    embedded = model.encode_layers(list(texts), LAYERS).astype(np.float64) * EMBEDDING_SCALE
    vader = np.array(
        [[score_plain(t).compound, score_mention(t).compound] for t in texts], dtype=np.float64
    ).reshape(len(texts), 2)
    return np.hstack([embedded, vader, ngrams.reshape(len(texts), 2) * NGRAM_SCALE])


def _probabilities(x: Matrix, weights: Matrix, bias: Matrix) -> Matrix:
    z = x @ weights + bias
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def fit(x: Matrix, y: Sequence[int], l2: float = L2, rounds: int = 50) -> tuple[Matrix, Matrix]:
    """Multinomial logistic regression, L2 on the weights (not the biases), by Newton's method.
    The Hessian's blocks are symmetric (block b,a is block a,b transposed): six are computed."""
    n, d = x.shape
    k = len(LABELS)
    xb = np.hstack([x, np.ones((n, 1))])
    targets = np.eye(k)[np.asarray(y)]
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    w = np.zeros((d + 1, k))
    for _ in range(rounds):
        p = _probabilities(xb, w, np.zeros(k))
        gradient = xb.T @ (p - targets) / n + reg[:, None] * w
        hessian = np.zeros(((d + 1) * k, (d + 1) * k))
        for a in range(k):
            for b in range(a, k):
                weight = p[:, a] * (float(a == b) - p[:, b])
                block = (xb * weight[:, None]).T @ xb / n
                hessian[a * (d + 1) : (a + 1) * (d + 1), b * (d + 1) : (b + 1) * (d + 1)] = block
                hessian[b * (d + 1) : (b + 1) * (d + 1), a * (d + 1) : (a + 1) * (d + 1)] = block.T
        hessian += np.diag(np.tile(reg, k)) + 1e-9 * np.eye((d + 1) * k)
        step = np.linalg.solve(hessian, gradient.T.reshape(-1)).reshape(k, d + 1).T
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w[:-1], w[-1]


@dataclass(frozen=True)
class Classifier:
    weights: Matrix  # (features, classes)
    bias: Matrix  # (classes,)
    ngrams: NgramTable
    training: dict[str, Any]

    @property
    def name(self) -> str:
        return NAME

    def score_all(self, texts: Sequence[str]) -> list[MentionScore]:
        if not texts:
            return []
        x = features(texts, shared_model(), self.ngrams.features(texts))
        p = _probabilities(x, self.weights, self.bias)
        negative, positive = LABELS.index("negative"), LABELS.index("positive")
        compounds = p[:, positive] - p[:, negative]  # in [-1, 1], like VADER's compound
        return [MentionScore(round(float(c), 4), label_for(float(c))) for c in compounds]

    def __call__(self, text: str) -> MentionScore:
        return self.score_all([text])[0]

    def document(self) -> dict[str, Any]:
        return {
            "_comment": "Made by `python -m consumers.sentiment.classifier train`",
            "name": NAME,
            "embedding": "sentence-transformers/all-MiniLM-L6-v2 (mean pooling, normalised)",
            "layers": list(LAYERS),
            "embedding_scale": EMBEDDING_SCALE,
            "ngram_scale": NGRAM_SCALE,
            "l2": L2,
            "labels": list(LABELS),
            "features": [f"minilm-layer{n}[0..383]" for n in LAYERS]
            + ["vader", "vader+brand-lexicon", "ngrams:positive-negative", "ngrams:neutral"],
            "training": self.training,
            "bias": [round(float(v), 6) for v in self.bias],
            "weights": [[round(float(v), 6) for v in row] for row in self.weights],
            "ngrams": self.ngrams.document(),
        }


def training_rows(path: Path = TRAINING_FILE) -> list[tuple[str, int]]:
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            data = json.loads(line)
            if data.get("label") not in LABELS or not isinstance(data.get("text"), str):
                raise ValueError(f"{path.name} line {number}: needs text and a label")
            rows.append((data["text"], LABELS.index(data["label"])))
    return rows


def train(path: Path = TRAINING_FILE, model: MiniLM | None = None) -> Classifier:
    rows = training_rows(path)
    texts, labels = [text for text, _ in rows], [label for _, label in rows]
    # The classifier learns how far to trust the n-gram table from scores it could not have
    # memorised: each training post is scored by a table made without it.
    x = features(texts, model or shared_model(), out_of_fold(texts, labels))
    weights, bias = fit(x, labels)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    training = {"file": path.name, "rows": len(rows), "sha256": digest}
    return Classifier(weights, bias, fit_table(texts, labels), training)


def parse_classifier(document: dict[str, Any]) -> Classifier:
    if document.get("name") != NAME or document.get("labels") != list(LABELS):
        raise ValueError(f"{WEIGHTS_FILE} is not a {NAME} classifier")
    weights = np.array(document["weights"], dtype=np.float64)
    if weights.shape != (WIDTH, len(LABELS)):
        raise ValueError(
            f"{WEIGHTS_FILE}: weights of shape {weights.shape}, expected ({WIDTH}, {len(LABELS)})"
        )
    bias = np.array(document["bias"], dtype=np.float64)
    return Classifier(weights, bias, parse_table(document["ngrams"]), document["training"])


@cache
def shared_classifier() -> Classifier:
    """The packaged classifier (the embedding model is loaded on first use)."""
    text = resources.files("consumers.data").joinpath(WEIGHTS_FILE).read_text("utf-8")
    return parse_classifier(json.loads(text))


def main(argv: Sequence[str] | None = None) -> int:
    """``train`` writes the weights; ``check`` retrains and says whether the shipped ones match
    (minutes: every training post goes through MiniLM; the unit tests check the file's digest)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in (["train"], ["check"]):
        print("usage: python -m consumers.sentiment.classifier train|check", file=sys.stderr)
        return 2
    classifier = train()
    if args == ["check"]:
        shipped = shared_classifier()
        same = (
            shipped.training == classifier.training
            and np.allclose(shipped.weights, classifier.weights, atol=1e-4)
            and np.allclose(shipped.bias, classifier.bias, atol=1e-4)
        )
        print("the shipped weights match a fresh training" if same else "the weights differ")
        return 0 if same else 1
    (DATA / WEIGHTS_FILE).write_text(json.dumps(classifier.document(), indent=1) + "\n", "utf-8")
    print(f"trained on {classifier.training['rows']} rows; wrote {DATA / WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
