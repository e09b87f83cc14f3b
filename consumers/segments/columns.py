"""The columns an export can have: name → the profile fields it reads and how it reads them.

``--columns user_id,email,age`` picks them; only the fields they read are fetched from
Elasticsearch (``source_fields``), which keeps large exports light. Values stay typed (lists,
numbers, booleans) for JSON lines; CSV flattens them (``csv_text``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from consumers.core.errors import ConfigurationError

Profile = dict[str, Any]


def _path(*keys: str) -> Callable[[Profile], Any]:
    def read(profile: Profile) -> Any:
        value: Any = profile
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


def _age(profile: Profile, today: date | None = None) -> int | None:
    born = profile.get("birth_date")
    if not isinstance(born, str):
        return None
    try:
        birth = date.fromisoformat(born[:10])
    except ValueError:
        return None
    today = today or date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Column:
    reads: tuple[str, ...]  # profile fields (``_source`` paths) the value comes from
    value: Callable[[Profile], Any]
    meaning: str


def _field(name: str, meaning: str) -> Column:
    return Column((name,), _path(*name.split(".")), meaning)


COLUMNS: dict[str, Column] = {
    "user_id": _field("user_id", "Auth0 user id"),
    "email": _field("email", "email, lower-cased"),
    "name": _field("name", "full name"),
    "nickname": _field("nickname", "nickname"),
    "gender": _field("gender", "gender"),
    "birth_date": _field("birth_date", "birth date (or an estimate, see birth_date_precision)"),
    "birth_date_precision": _field("birth_date_precision", "day, year or range"),
    "age": Column(("birth_date",), _age, "age in years today, from the birth date"),
    "interests": _field("interests", "interests (CSV: separated by ';')"),
    "twitter_handle": _field("twitter_handle", "Twitter handle"),
    "country_code": _field("location.country_code", "country (ISO code)"),
    "city": _field("location.city", "city"),
    "providers": _field("providers", "identity providers"),
    "tenant": _field("tenant", "Auth0 tenant"),
    "signed_up_at": _field("signed_up_at", "signup time"),
    "last_login": _field("last_login", "last login time"),
    "last_seen": _field("last_seen", "last event time"),
    "logins_count": _field("logins_count", "logins, as Auth0 counts them"),
    "returned": _field("returned", "logged in again after the signup day"),
    "marketing_consent": _field("marketing_consent", "granted, refused or unknown"),
    "consent_source": _field("consent.source", "who stated the consent"),
    "consent_at": _field("consent.at", "when the consent was stated"),
    "sentiment_label": _field("sentiment.label", "brand sentiment"),
    "sentiment_score": _field("sentiment.score", "brand sentiment score, -1 to 1"),
}
DEFAULT_COLUMNS = (
    "user_id",
    "email",
    "name",
    "gender",
    "birth_date",
    "interests",
    "twitter_handle",
    "country_code",
    "city",
    "signed_up_at",
    "last_login",
    "marketing_consent",
)


def parse_columns(spec: str | None) -> tuple[str, ...]:
    """``"user_id, email"`` → ``("user_id", "email")``; None → the default columns."""
    if spec is None:
        return DEFAULT_COLUMNS
    chosen = tuple(part.strip() for part in spec.split(",") if part.strip())
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise ConfigurationError(
            f"unknown column(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known columns: {', '.join(COLUMNS)}"
        )
    repeated = sorted({c for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise ConfigurationError(f"column(s) named twice: {', '.join(repeated)}")
    return chosen


def source_fields(columns: Sequence[str]) -> list[str]:
    return sorted({field for column in columns for field in COLUMNS[column].reads})


def row(profile: Profile, columns: Sequence[str]) -> dict[str, Any]:
    return {column: COLUMNS[column].value(profile) for column in columns}


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(csv_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
