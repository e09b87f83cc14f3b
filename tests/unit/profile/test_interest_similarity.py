"""The similarity fallback of the interest taxonomy: what it may decide, what it may not, and
that it stays cheap, lazy, deterministic and optional."""

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import consumers.sentiment.embedding as embedding
from consumers.profile.facts.interests import Taxonomy
from consumers.profile.facts.similarity import (
    EXAMPLES_FILE,
    INDEX_FILE,
    UNLABELLED,
    Similarity,
    Thresholds,
    encoder_input,
    examples_digest,
    knn_scores,
)
from consumers.profile.interest_fitting import FOLDS, cross_validated_scores
from tests.helpers import prerequisite_missing

DATA = Path(__file__).resolve().parents[3] / "consumers" / "data"
TESTS_DATA = Path(__file__).resolve().parents[2] / "data"

# A toy world in three dimensions: running things, other things, films.
RUN, OTHER, FILM = np.eye(3, dtype=np.float32)
EXAMPLES = [
    {"text": "running club", "should": ["running"], "vector": RUN},
    {"text": "run streaks", "should": ["running"], "vector": RUN},
    {"text": "marathon training", "should": ["running"], "vector": RUN},
    {"text": "knitting", "should": [], "vector": OTHER},
    {"text": "wool shops", "should": [], "vector": OTHER},
    {"text": "movie marathon", "should": [], "vector": FILM},
    {"text": "film marathon night", "should": [], "vector": FILM},
    {"text": "trail things", "should": [], "may": ["running"], "vector": RUN},
]
# What the fake encoder answers for texts outside the examples.
TEXTS = {
    "jog before work": RUN,
    "yarn": OTHER,
    "Star Wars marathon": FILM,
    "Marathon road race": RUN,
    "Marathon": FILM,
    "Runaway Express (Movie)": RUN,
    "Pacer (Sports Event)": RUN,
    "movie marathon": FILM,
    "Runaway marathon": RUN,
}
TERMS = {
    "running": {
        "keywords": ["running", "marathon"],
        "exclude": ["runaway"],
        "not_for_page_categories": ["Movie"],
        "page_category_keywords": {"Sports Event": ["pacer"]},
        "implies": ["fitness"],
    },
    "fitness": {"keywords": ["gym"]},
}


class Encoder:
    """Vectors from the tables above; counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        table = TEXTS | {str(e["text"]): e["vector"] for e in EXAMPLES}
        return np.stack([table[t] for t in texts])


def toy(encoder: Callable[[list[str]], np.ndarray] | None = None) -> Similarity:
    vectors = np.stack([e["vector"] for e in EXAMPLES])
    thresholds = {"running": Thresholds(give_at=0.7, keep_at=0.5, sense_k=2)}
    return Similarity(vectors, EXAMPLES, thresholds, k=3, temperature=10.0, encoder=encoder)


def test_an_undecided_text_takes_the_terms_of_its_nearest_examples() -> None:
    encoder = Encoder()
    taxonomy = Taxonomy(TERMS, toy(encoder))
    assert taxonomy.match("jog before work") == {"running", "fitness"}  # implication still holds
    assert taxonomy.match("yarn") == set()


def test_a_keyword_match_whose_examples_read_another_sense_is_dropped() -> None:
    taxonomy = Taxonomy(TERMS, toy(Encoder()))
    # Among the examples whose names say "marathon", this one is near the film nights...
    assert taxonomy.match("Star Wars marathon") == set()
    # ...and this one near the training; a bare keyword has no other words to weigh.
    assert taxonomy.match("Marathon road race") == {"running", "fitness"}
    assert taxonomy.match("Marathon") == {"running", "fitness"}


def test_what_the_keywords_rule_out_is_never_given_by_similarity() -> None:
    encoder = Encoder()
    taxonomy = Taxonomy(TERMS, toy(encoder))
    assert taxonomy.match_page("Runaway Express", "Movie") == set()  # a page category rules out
    assert taxonomy.match("Runaway marathon") == set()  # an exclusion rules out
    assert encoder.calls == []  # and the encoder was not even asked
    # A word that says running only in a page of one category is read like a name's keyword.
    assert taxonomy.match_page("Pacer", "Sports Event") == {"running", "fitness"}


def test_without_the_sentence_model_the_taxonomy_is_keywords_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> embedding.MiniLM:
        raise embedding.ModelMissing("the sentence model is not installed")

    monkeypatch.setattr(embedding, "shared_model", missing)
    taxonomy = Taxonomy(TERMS, toy(encoder=None))
    with caplog.at_level(logging.WARNING):
        assert taxonomy.match("jog before work") == set()
        assert taxonomy.match("Star Wars marathon") == {"running", "fitness"}  # keywords say so
    warnings = [r.getMessage() for r in caplog.records if "keywords only" in r.getMessage()]
    assert len(warnings) == 1 and "not installed" in warnings[0]


def test_the_index_is_loaded_on_the_first_text_that_needs_it_and_each_text_encoded_once() -> None:
    loads: list[int] = []
    encoder = Encoder()

    def loader() -> Similarity:
        loads.append(1)
        return toy(encoder)

    taxonomy = Taxonomy(TERMS, loader)
    assert taxonomy.names == {"running", "fitness"} and loads == []
    first = [taxonomy.match(t) for t in ("jog before work", "yarn", "jog before work", "yarn")]
    assert loads == [1] and encoder.calls == ["jog before work", "yarn"]
    # The answer depends on the text alone, never on what came before (order-tolerant fold).
    other = Taxonomy(TERMS, toy(Encoder()))
    assert [other.match(t) for t in ("yarn", "jog before work")] == [first[1], first[0]]


def test_knn_scores_weigh_near_examples_more_and_skip_unlabelled_ones() -> None:
    similarities = np.array([[0.9, 0.8, 0.1, 0.95]])
    labels = np.array([1.0, 0.0, 1.0, UNLABELLED])
    (score,) = knn_scores(similarities, labels, k=2, temp=10.0)
    assert score == pytest.approx(np.exp(9) / (np.exp(9) + np.exp(8)))
    assert knn_scores(similarities, np.full(4, UNLABELLED), k=2, temp=10.0).tolist() == [0.0]


def test_cross_validation_never_scores_an_example_with_its_own_label() -> None:
    vectors = np.eye(4)  # each example is near only itself
    labels = np.array([1.0, 0.0, 0.0, 0.0])
    folds = np.arange(4) % FOLDS
    scores = cross_validated_scores(vectors, labels, folds, k=1)
    assert scores[0] == 0.0  # with itself hidden, only examples that do not give it are left


def test_the_shipped_index_was_made_from_the_shipped_examples() -> None:
    """`authstream interests fit` must be run after the examples change."""
    examples_text = (DATA / EXAMPLES_FILE).read_text("utf-8")
    index = json.loads((DATA / INDEX_FILE).read_text("utf-8"))
    assert index["examples_sha256"] == examples_digest(examples_text)
    similarity = Similarity.load(encoder=Encoder())
    assert similarity is not None
    assert similarity.terms == {"fitness", "running"}
    assert len(similarity.vectors) == len(similarity.examples) > 800
    assert np.allclose(np.linalg.norm(similarity.vectors, axis=1), 1.0, atol=1e-2)


def test_no_example_is_an_evaluation_row() -> None:
    """The examples are training data written for the fallback; the labelled and fresh sets
    measure it, so none of their texts may be among the examples."""
    examples = {
        json.loads(line)["text"].strip().lower()
        for line in (DATA / EXAMPLES_FILE).read_text("utf-8").splitlines()
        if line.strip()
    }
    for path in TESTS_DATA.glob("interests_*.jsonl"):
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        assert not examples & {row["text"].strip().lower() for row in rows}, path.name


def test_the_real_model_reads_phrasings_no_keyword_knows() -> None:
    taxonomy = Taxonomy.load()
    if taxonomy.similarity is None or not taxonomy.similarity.encoder_ready():
        prerequisite_missing("the sentence model is not installed: keywords only")
    keywords = Taxonomy.load(similarity=False)
    dawn, racks = "lacing up before sunrise", "Weight tree racks"
    assert keywords.match(dawn) == keywords.match(racks) == set()
    assert taxonomy.match(dawn) == {"running", "fitness"}
    assert taxonomy.match(racks) == {"fitness"}
    assert encoder_input("Kiprun", "Sportswear Store") == "Kiprun (Sportswear Store)"
    # Whatever a JSON string may hold reaches the encoder as text it can take.
    odd = "\ud800 out the door for a few miles every dawn \ud800"
    assert taxonomy.match(odd) == {"running", "fitness"}
    assert taxonomy.match("x" * 100_000) == set()
