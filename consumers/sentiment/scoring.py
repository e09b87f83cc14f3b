"""Score brand mentions with VADER plus a brand lexicon, and fold them into a per-user summary.

Why VADER: it is a lexicon-and-rules model built for social media (negation, boosters, capitals,
exclamation marks, emoji), it runs offline with its lexicon inside the package, and one call costs
microseconds, so the sentiment stage needs no GPU, no model download and no network. Its weak spot
is shop vocabulary: "fell apart", "still waiting" or "true to size" carry no valence in a general
lexicon. A brand lexicon kept as data (``consumers/data/brand_lexicon.json``) fills that gap:
single words are merged into VADER's lexicon, and phrases and emoji are rewritten into one token
each before VADER sees the text, so VADER's own negation rules ("not true to size") still apply.

Everything here is a pure function of its inputs. The lexicon and the analysers are built once per
process (cached), because building VADER parses ~7,500 lexicon lines from disk.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

Label = Literal["negative", "neutral", "positive"]

# --- The one place for the decision rules ---------------------------------------------------
# VADER's published convention (vaderSentiment README; Hutto & Gilbert 2014): compound >= 0.05 is
# positive, <= -0.05 negative. A sweep on the dev half of the labelled set found nothing better
# than noise (a -0.01 band won 2 rows of 104; "0.0 is negative" calls every question a complaint).
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# A user's label follows their recent mood: a mention this much older than the user's newest one
# weighs half as much, so a customer angry last month and happy now leaves the negative label,
# and one whose complaint of last week was resolved today ("replaced my pair, love them") does
# too. A week: the window X's recent search covers, and the default interval between look-ups.
RECENCY_HALF_LIFE = timedelta(days=7)
EVIDENCE_SIZE = 3
# A mention that is one question ("is the Pace good for trail?") asks, it does not praise: its
# positive score drops to 0. Negative questions ("why is my refund still not here?") are
# complaints and keep theirs. On the dev half: fixed 4 neutral questions, cost no polar row.
QUESTIONS_ARE_NOT_PRAISE = True
_ONE_QUESTION = re.compile(r"(?:[^.!?]|\.(?!\s))*\?+")
VALENCE_LIMIT = 4.0  # VADER's lexicon scale runs from -4 to +4
_REWRITE_PREFIX = "brandlex_"  # cannot collide with a real word in VADER's lexicon


def label_for(compound: float) -> Label:
    """The label of a compound score, by the thresholds above (boundaries included)."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class MentionScore:
    compound: float  # VADER's normalised score in [-1, 1]
    label: Label


Scorer = Callable[[str], MentionScore]


# --- Brand lexicon (data) --------------------------------------------------------------------
@dataclass(frozen=True)
class BrandLexicon:
    """The brand lexicon, ready for use: tokens to merge into VADER and the rewrite of phrases."""

    version: int
    valences: Mapping[str, float]  # token -> valence; words as given, phrases/emoji as tokens
    rewrites: Mapping[str, str]  # normalised phrase or emoji -> its token
    pattern: re.Pattern[str] | None  # finds any phrase or emoji, longest first


def _valence(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"brand lexicon: {key!r} needs a number, got {value!r}")
    if not -VALENCE_LIMIT <= value <= VALENCE_LIMIT:
        raise ValueError(f"brand lexicon: {key!r} = {value} is outside [-4, 4]")
    return float(value)


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, object]:
    if not isinstance(section := data.get(name, {}), dict):
        raise ValueError(f"brand lexicon: {name!r} must be an object")
    return section


def _normalise(text: str) -> str:
    """Curly apostrophes (phone keyboards) break VADER's "n't" negation; FE0F varies emoji."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\ufe0f", "")


def parse_brand_lexicon(data: Mapping[str, Any]) -> BrandLexicon:
    """Validate the JSON document: {"words": {w: v}, "phrases": {p: v}, "emoji": {e: v}}."""
    valences: dict[str, float] = {}
    rewrites: dict[str, str] = {}
    alternatives: list[tuple[str, str]] = []  # (normalised key, regex)
    for word, value in _section(data, "words").items():
        if not word or word != word.strip().lower() or any(c.isspace() for c in word):
            raise ValueError(f"brand lexicon: word {word!r} must be one lower-case token")
        valences[word] = _valence(word, value)
    for phrase, value in _section(data, "phrases").items():
        words = _normalise(phrase).lower().split()
        if len(words) < 2:
            raise ValueError(f"brand lexicon: phrase {phrase!r} needs two words or more")
        key = " ".join(words)
        token = _REWRITE_PREFIX + "_".join(re.findall(r"[a-z0-9]+", key))
        valences[token], rewrites[key] = _valence(phrase, value), token
        body = r"\s+".join(re.escape(w) for w in words)
        alternatives.append((key, rf"(?<![\w']){body}(?![\w'])"))
    for emoji, value in _section(data, "emoji").items():
        key = _normalise(emoji)
        if not key or any(c.isalnum() or c.isspace() for c in key):
            raise ValueError(f"brand lexicon: {emoji!r} is not an emoji")
        token = _REWRITE_PREFIX + "emoji_" + "_".join(f"{ord(c):x}" for c in key)
        valences[token], rewrites[key] = _valence(emoji, value), token
        alternatives.append((key, re.escape(key)))
    alternatives.sort(key=lambda item: (-len(item[0]), item[0]))
    pattern = (
        re.compile("|".join(r for _, r in alternatives), re.IGNORECASE) if alternatives else None
    )
    version = data.get("version", 1)
    return BrandLexicon(version if isinstance(version, int) else 1, valences, rewrites, pattern)


@cache
def load_brand_lexicon(path: Path | None = None) -> BrandLexicon:
    """Read and check a lexicon file once per process; without a path, the packaged one."""
    if path is None:
        text = resources.files("consumers.data").joinpath("brand_lexicon.json").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_brand_lexicon(json.loads(text))


def prepare_text(text: str, lexicon: BrandLexicon | None) -> str:
    """The text VADER sees: normalised, each brand phrase and emoji replaced by its token."""
    text = _normalise(text)
    if lexicon is None or lexicon.pattern is None:
        return text
    rewrites = lexicon.rewrites  # .get: a Unicode case-folded match keeps its text
    return lexicon.pattern.sub(
        lambda m: f" {rewrites.get(' '.join(m[0].lower().split()), m[0])} ", text
    )


# --- The analyser (the only contact with the untyped vaderSentiment package) -----------------
class _Analyser(Protocol):
    lexicon: dict[str, float]

    def polarity_scores(self, text: str) -> dict[str, float]: ...


def _new_vader() -> _Analyser:
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer,
    )

    analyser: _Analyser = SentimentIntensityAnalyzer()
    return analyser


class MentionScorer:
    """A reusable scorer: one VADER instance, with a brand lexicon merged in or plain.

    Plain means VADER exactly as published, on the raw text: the "before" of the comparison.
    """

    def __init__(self, lexicon: BrandLexicon | None) -> None:
        self.lexicon = lexicon
        self._analyser = _new_vader()
        if lexicon is not None:
            self._analyser.lexicon.update(lexicon.valences)

    def __call__(self, text: str) -> MentionScore:
        if self.lexicon is not None:
            text = prepare_text(text, self.lexicon)
        compound = float(self._analyser.polarity_scores(text)["compound"])
        if self.lexicon is not None and QUESTIONS_ARE_NOT_PRAISE and compound > 0:
            compound = 0.0 if _ONE_QUESTION.fullmatch(text.strip()) else compound
        return MentionScore(compound, label_for(compound))


@cache
def shared_scorer(brand_lexicon: bool = True) -> MentionScorer:
    """The process-wide scorer, built on first use: with the packaged brand lexicon, or plain."""
    return MentionScorer(load_brand_lexicon() if brand_lexicon else None)


def score_mention(text: str) -> MentionScore:
    """Score one mention with VADER and the packaged brand lexicon."""
    return shared_scorer(True)(text)


def score_plain(text: str) -> MentionScore:
    """Score one mention with plain VADER (no brand lexicon, no normalisation)."""
    return shared_scorer(False)(text)


# --- Per-user summary ------------------------------------------------------------------------
@dataclass(frozen=True)
class Mention:
    id: str
    text: str
    created_at: datetime  # naive values are taken as UTC
    url: str = ""
    handle: str = ""
    score: float | None = None  # the compound score, when it was scored already (stored)


@dataclass(frozen=True)
class Evidence:
    id: str
    text: str
    created_at: datetime
    url: str
    compound: float


@dataclass(frozen=True)
class UserSentiment:
    count: int  # distinct mentions (by id)
    mean: float  # plain mean of the compound scores
    recent_mean: float  # recency-weighted mean; decides the label
    minimum: float
    label: Label
    evidence: tuple[Evidence, ...]  # most negative first; only negative mentions
    first_at: datetime
    last_at: datetime

    def as_event_data(self) -> dict[str, object]:
        """The ``data`` of a ``profile.sentiment`` event: the profile keeps score/label/mentions."""
        return {
            "score": round(self.recent_mean, 4),
            "label": self.label,
            "mentions": self.count,
            "mean": round(self.mean, 4),
            "min": round(self.minimum, 4),
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "evidence": [
                {**asdict(e), "created_at": e.created_at.isoformat()} for e in self.evidence
            ],
        }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _distinct(mentions: Iterable[Mention]) -> list[Mention]:
    """One mention per id; if a redelivered copy differs, the same one wins in any order."""
    chosen: dict[str, Mention] = {}
    for mention in mentions:
        mention = replace(mention, created_at=_utc(mention.created_at))
        old = chosen.get(mention.id, mention)
        chosen[mention.id] = max(
            old, mention, key=lambda m: (m.created_at, m.text, m.url, m.handle)
        )
    return sorted(chosen.values(), key=lambda m: (m.created_at, m.id))


def summarise(
    mentions: Iterable[Mention],
    *,
    scorer: Scorer = score_mention,
    half_life: timedelta = RECENCY_HALF_LIFE,
    evidence_size: int = EVIDENCE_SIZE,
) -> UserSentiment:
    """Fold one user's mentions; the result is the same for any order and any duplicates.

    The label comes from the recency-weighted mean, measured from the user's newest mention
    (not from the wall clock, so replaying the same mentions gives the same answer). A mention
    that carries its score is not scored again.
    """
    unique = _distinct(mentions)
    if not unique:
        raise ValueError("summarise needs at least one mention")
    scores = [m.score if m.score is not None else scorer(m.text).compound for m in unique]
    last = unique[-1].created_at
    weights = [0.5 ** ((last - m.created_at) / half_life) for m in unique]
    recent = math.fsum(w * s for w, s in zip(weights, scores, strict=True)) / math.fsum(weights)
    negative = sorted(
        (pair for pair in zip(unique, scores, strict=True) if label_for(pair[1]) == "negative"),
        key=lambda pair: (pair[1], -pair[0].created_at.timestamp(), pair[0].id),
    )
    return UserSentiment(
        count=len(unique),
        mean=math.fsum(scores) / len(scores),
        recent_mean=recent,
        minimum=min(scores),
        label=label_for(recent),
        evidence=tuple(
            Evidence(m.id, m.text, m.created_at, m.url, s) for m, s in negative[:evidence_size]
        ),
        first_at=unique[0].created_at,
        last_at=last,
    )
