"""The profile fields a segment definition may use: their names, kinds and where to read them.

Only fields the users index maps can be searched (the mapping is ``dynamic: false``), so this
catalog is the language's vocabulary: a name missing here is a typo, and ``validate`` says which
name was meant. Each field knows how to read its value from a ``Profile`` as Elasticsearch sees
it, which is what lets the in-process evaluator agree with the Elasticsearch query
(``consumers.segments.view``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from consumers.profile.facts import Taxonomy
from consumers.profile.model import Profile

Kind = Literal["keyword", "keywords", "text", "boolean", "long", "float", "date"]
Case = Literal["lower", "upper"]


@dataclass(frozen=True)
class Field:
    name: str  # as a definition writes it
    path: str  # the Elasticsearch field
    kind: Kind
    read: Callable[[Profile], Any]  # the raw value, as the stored document holds it
    known: tuple[str, ...] = ()  # values a typo is checked against
    closed: bool = False  # no value outside ``known`` exists
    case: Case | None = None  # how values are stored (a "Male" would never match)

    @property
    def exact_path(self) -> str:
        """Where exact values are compared: a text field's keyword sub-field."""
        return f"{self.path}.keyword" if self.kind == "text" else self.path


def _sentiment(key: str) -> Callable[[Profile], Any]:
    def read(profile: Profile) -> Any:
        return profile.sentiment.finding(key) if profile.sentiment else None

    return read


def _within(attribute: str, key: str) -> Callable[[Profile], Any]:
    def read(profile: Profile) -> Any:
        container = getattr(profile, attribute)
        return container.get(key) if isinstance(container, dict) else None

    return read


def _catalog() -> dict[str, Field]:
    interests = tuple(sorted(Taxonomy.load().names))
    fields = [
        Field("user_id", "user_id", "keyword", lambda p: p.user_id),
        Field("tenant", "tenant", "keyword", lambda p: p.tenant),
        Field("email", "email", "keyword", lambda p: p.email, case="lower"),
        Field("email_verified", "email_verified", "boolean", lambda p: p.email_verified),
        Field("name", "name", "text", lambda p: p.name),
        Field("nickname", "nickname", "text", lambda p: p.nickname),
        Field("connection", "connection", "keyword", lambda p: p.connection),
        Field("connections", "connections", "keywords", lambda p: p.connections),
        Field("providers", "providers", "keywords", lambda p: p.providers),
        Field("gender", "gender", "keyword", lambda p: p.gender, ("male", "female"), case="lower"),
        Field("birth_date", "birth_date", "date", lambda p: p.birth_date),
        Field(
            "birth_date_precision",
            "birth_date_precision",
            "keyword",
            lambda p: p.birth_date_precision,
            ("day", "year", "range"),
            closed=True,
        ),
        Field(
            "interests", "interests", "keywords", lambda p: p.interests, interests, True, "lower"
        ),
        Field("twitter_handle", "twitter_handle", "keyword", lambda p: p.twitter_handle),
        Field(
            "location.country_code",
            "location.country_code",
            "keyword",
            _within("location", "country_code"),
            case="upper",
        ),
        Field("location.city", "location.city", "keyword", _within("location", "city")),
        Field("location.region", "location.region", "keyword", _within("location", "region")),
        Field(
            "employment.organization",
            "employment.organization",
            "keyword",
            _within("employment", "organization"),
        ),
        Field("employment.title", "employment.title", "keyword", _within("employment", "title")),
        Field(
            "marketing_consent",
            "marketing_consent",
            "keyword",
            lambda p: p.marketing_consent,
            ("granted", "refused", "unknown"),
            closed=True,
        ),
        Field("consent.source", "consent.source", "keyword", lambda p: p.consent.source),
        Field("consent.at", "consent.at", "date", lambda p: p.consent.at),
        Field("first_seen", "first_seen", "date", lambda p: p.first_seen),
        Field("signed_up_at", "signed_up_at", "date", lambda p: p.signed_up_at),
        Field("last_login", "last_login", "date", lambda p: p.last_login),
        Field("last_seen", "last_seen", "date", lambda p: p.last_seen),
        Field("last_failed_login", "last_failed_login", "date", lambda p: p.last_failed_login),
        Field("logins_count", "logins_count", "long", lambda p: p.logins_count),
        Field("returned", "returned", "boolean", lambda p: p.returned),
        *(
            Field(f"counters.{name}", f"counters.{name}", "long", _within("counters", name))
            for name in ("signups", "logins", "failed_logins", "logouts", "behaviors")
        ),
        Field(
            "sentiment.status",
            "sentiment.status",
            "keyword",
            lambda p: p.sentiment.status if p.sentiment else None,
        ),
        Field(
            "sentiment.label",
            "sentiment.label",
            "keyword",
            _sentiment("label"),
            ("positive", "neutral", "negative"),
            case="lower",
        ),
        Field("sentiment.score", "sentiment.score", "float", _sentiment("score")),
        Field("sentiment.mentions", "sentiment.mentions", "long", _sentiment("mentions")),
        Field(
            "sentiment.updated_at",
            "sentiment.updated_at",
            "date",
            lambda p: p.sentiment.updated_at if p.sentiment else None,
        ),
    ]
    return {field.name: field for field in fields}


FIELDS: dict[str, Field] = _catalog()

# Shorter names marketers reach for first.
ALIASES = {
    "consent": "marketing_consent",
    "country": "location.country_code",
    "city": "location.city",
}

# The nested behaviour counts (``behaviors``: action, count, last_at) have their own condition.
BEHAVIORS_PATH = "behaviors"


def field_named(name: str) -> Field | None:
    return FIELDS.get(ALIASES.get(name, name))


def field_names() -> list[str]:
    return [*FIELDS, *ALIASES]
