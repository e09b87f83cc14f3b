"""Interests by similarity: what the keywords cannot know, read from the nearest labelled examples.

Keywords lag behind new brand and app names ("Fitbod", "Runderwear") and free phrasings ("I run
before work"), and a word such as "marathon" also names film nights and oil companies. So a text
is also embedded with all-MiniLM-L6-v2 (``consumers/sentiment/embedding.py``, numpy only) and
compared with the labelled examples in ``consumers/data/interests_examples.jsonl`` (written for
this, never the evaluation rows): its score for a term is the similarity-weighted share of its k
nearest examples that give the term. The taxonomy uses it in two places only (``Taxonomy``):

- a term no keyword gave and nothing ruled out (an exclusion, a page category) is given when the
  score reaches ``give_at``;
- a term a page's *name* gave by keyword is dropped when its sense score is below ``keep_at``:
  the sense score compares the text only with the examples whose names hold one of that term's
  keywords (given or excluded: "running my own business" teaches "running a bakery"), so it asks
  "which 'marathon' is this one?" ("Gilmore Girls Marathon" is near "Harry Potter marathon",
  "Running belts" near "Running vests"), not "is this text about running?", which the head noun
  would answer ("Running watches" is near "Wristwatches").

The examples' vectors and both thresholds are data (``consumers/data/interests_similarity.json``),
made by ``authstream interests fit``, which picks the thresholds by cross-validation on the
examples alone. The encoder (about 90 MB) is loaded on the first text the keywords do not settle;
when it is not installed the taxonomy is keywords only, and says so once in the log.
"""

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
Encoder = Callable[[list[str]], Vectors]
EXAMPLES_FILE = "interests_examples.jsonl"
INDEX_FILE = "interests_similarity.json"
UNLABELLED = -1.0  # an example that may or may not give a term says nothing about it


MAX_CHARS = 400  # page names and categories are short; a longer text is cut, not tokenised whole


def encoder_input(name: str, category: str = "") -> str:
    """What the encoder reads: the page category says what kind of thing the name is. Lone
    surrogates (JSON may carry "\\ud800") become "?": the tokenizer takes only valid UTF-8."""
    text = f"{name} ({category})" if category else name
    return text[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8")


def examples_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def example_labels(rows: Sequence[Mapping[str, Any]], term: str) -> npt.NDArray[np.float64]:
    """1 where an example gives the term, 0 where it does not, UNLABELLED where it may."""
    return np.array(
        [
            UNLABELLED if term in row.get("may", []) else float(term in row.get("should", []))
            for row in rows
        ],
        dtype=np.float64,
    )


def knn_scores(
    similarities: npt.NDArray[np.float64], labels: npt.NDArray[np.float64], k: int, temp: float
) -> npt.NDArray[np.float64]:
    """Per row of ``similarities`` (texts by examples): the share of its k nearest labelled
    examples that give the term, each weighted by exp(temp * cosine), so near ones count more."""
    known = labels != UNLABELLED
    sims, wanted = similarities[:, known], labels[known]
    k = min(k, sims.shape[1])
    if k == 0:
        return np.zeros(len(similarities))
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    weights = np.exp(temp * np.take_along_axis(sims, nearest, axis=1))
    result: npt.NDArray[np.float64] = (weights * wanted[nearest]).sum(1) / weights.sum(1)
    return result


@dataclass(frozen=True)
class Thresholds:
    give_at: float  # an undecided text gets the term from this score
    keep_at: float  # a keyword match on a page name is kept from this sense score (0: always)
    sense_k: int  # neighbours the sense score reads


@dataclass(frozen=True)
class Opinion:
    score: float  # among all examples: how much the text is like those that give the term
    sense: float  # among the examples whose names hold one of the term's keywords


KeywordMentions = Callable[[str, str], set[str]]  # a page's name and category -> terms


class Similarity:
    """The examples' vectors, their labels per term and the thresholds; texts are encoded on
    demand with ``encoder`` (the shared MiniLM, loaded on first use, unless one is given)."""

    def __init__(
        self,
        vectors: Vectors,
        examples: Sequence[Mapping[str, Any]],
        thresholds: Mapping[str, Thresholds],
        k: int,
        temperature: float,
        encoder: Encoder | None = None,
    ) -> None:
        self.vectors = vectors.astype(np.float64)
        self.examples = list(examples)
        self.thresholds = dict(thresholds)
        self.k, self.temperature = k, temperature
        self.labels = {term: example_labels(self.examples, term) for term in self.thresholds}
        # Until bound to keywords (``bind``), every example is a sense example.
        self.sense_labels = dict(self.labels)
        self._encoder = encoder
        self._unavailable = False

    def bind(self, keyword_mentions: KeywordMentions) -> "Similarity":
        """The sense labels for these keywords: only examples whose names hold the term's."""
        by_name = [
            keyword_mentions(str(row["text"]), str(row.get("category") or ""))
            for row in self.examples
        ]
        for term, labels in self.labels.items():
            matched = np.array([term in names for names in by_name], dtype=bool)
            self.sense_labels[term] = np.where(matched, labels, UNLABELLED)
        return self

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(self.thresholds)

    def opinions(self, name: str, category: str = "") -> dict[str, Opinion] | None:
        """Each term's scores for a text, or None when there is no encoder (keywords only)."""
        vector = self._encode(encoder_input(name, category))
        if vector is None:
            return None
        similarities = (self.vectors @ vector.astype(np.float64))[None, :]
        temp = self.temperature
        return {
            term: Opinion(
                float(knn_scores(similarities, self.labels[term], self.k, temp)[0]),
                float(knn_scores(similarities, self.sense_labels[term], limits.sense_k, temp)[0]),
            )
            for term, limits in sorted(self.thresholds.items())
        }

    def encoder_ready(self) -> bool:
        """Whether texts can be encoded: the encoder is loaded now if it was not. False when the
        sentence model is not installed; the fallback is then off (keywords only)."""
        if self._encoder is None and not self._unavailable:
            try:
                from consumers.sentiment.embedding import shared_model

                self._encoder = shared_model().encode
            except (ImportError, RuntimeError) as exc:  # ModelMissing is a RuntimeError
                log.warning("interests by keywords only, no similarity fallback: %s", exc)
                self._unavailable = True
        return self._encoder is not None

    def _encode(self, text: str) -> Vectors | None:
        if not self.encoder_ready():
            return None
        assert self._encoder is not None
        vector: Vectors = self._encoder([text])[0]
        return vector

    @classmethod
    def load(cls, encoder: Encoder | None = None) -> "Similarity | None":
        """The built-in index; None (keywords only, logged) when it is missing or was made from
        other examples than the ones shipped (then ``authstream interests fit`` remakes it)."""
        data = resources.files("consumers.data")
        try:
            examples_text = data.joinpath(EXAMPLES_FILE).read_text("utf-8")
            index = json.loads(data.joinpath(INDEX_FILE).read_text("utf-8"))
        except FileNotFoundError as exc:
            log.warning("interests by keywords only: %s", exc)
            return None
        if index.get("examples_sha256") != examples_digest(examples_text):
            log.warning(
                "interests by keywords only: %s was made from other examples than %s; run "
                "`authstream interests fit`",
                INDEX_FILE,
                EXAMPLES_FILE,
            )
            return None
        try:
            return cls.from_data(index, parse_examples(examples_text), encoder)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("interests by keywords only: %s is malformed (%r)", INDEX_FILE, exc)
            return None

    @classmethod
    def from_data(
        cls,
        index: Mapping[str, Any],
        examples: Sequence[Mapping[str, Any]],
        encoder: Encoder | None = None,
    ) -> "Similarity":
        raw = base64.b64decode(index["vectors_float16"])
        vectors = np.frombuffer(raw, dtype=np.float16).reshape(len(examples), -1)
        thresholds = {
            term: Thresholds(float(spec["give_at"]), float(spec["keep_at"]), int(spec["sense_k"]))
            for term, spec in index["terms"].items()
        }
        k, temperature = int(index["k"]), float(index["temperature"])
        return cls(vectors.astype(np.float32), examples, thresholds, k, temperature, encoder)


def parse_examples(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def pack_vectors(vectors: Vectors) -> str:
    """Half precision is plenty for cosines, and halves the data file."""
    return base64.b64encode(vectors.astype(np.float16).tobytes()).decode("ascii")
