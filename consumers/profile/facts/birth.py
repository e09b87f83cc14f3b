"""Birth dates, never ages: an age stored today is wrong next year.

Precedence follows the article's ``getAge``: ``user.age``, FullContact ``age``,
``demographics.age``, ``demographics.birthDate`` (v2) or ``details.age`` / ``ageRange`` (v3),
``user.dateOfBirth``, ``user.birthday`` (Facebook ``MM/DD/YYYY``), then linked identities.
An age becomes an estimated birth year, kept with its precision.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from consumers.profile.facts.sources import dig

Precision = Literal["day", "year", "range"]

_US_DATE = re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})$")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_YEAR = re.compile(r"^(?P<y>\d{4})$")
_RANGE = re.compile(r"^\s*(?P<low>\d{1,3})\s*-\s*(?P<high>\d{1,3})\s*$")


@dataclass(frozen=True)
class BirthDate:
    value: date
    precision: Precision  # day: known; year: from an age or a bare year; range: from an age range


def _year_estimate(year: int, precision: Precision) -> BirthDate | None:
    if 1900 <= year <= date.today().year:
        return BirthDate(date(year, 7, 1), precision)  # mid-year: the least wrong guess
    return None


def parse_birthday(text: Any) -> BirthDate | None:
    """``08/31/1990`` (Facebook), ``1990-08-31``, ``1990-08-31T00:00:00Z``, ``1990``; else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    for pattern in (_US_DATE, _ISO_DATE):
        match = pattern.match(text)
        if match:
            try:
                value = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return None
            return BirthDate(value, "day") if value <= date.today() else None
    match = _YEAR.match(text)
    return _year_estimate(int(match["y"]), "year") if match else None


def from_age(age: Any, as_of: date) -> BirthDate | None:
    try:
        years = int(str(age).strip())
    except ValueError:
        return None
    if not 0 < years < 120:
        return None
    return _year_estimate(as_of.year - years, "year")


def from_age_range(text: Any, as_of: date) -> BirthDate | None:
    match = _RANGE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    middle = (int(match["low"]) + int(match["high"])) // 2
    estimate = from_age(middle, as_of)
    return BirthDate(estimate.value, "range") if estimate else None


def _from_v3_birthday(parts: Any) -> BirthDate | None:
    year, month, day = (dig(parts, k) for k in ("year", "month", "day"))
    if isinstance(year, int) and isinstance(month, int) and isinstance(day, int):
        return parse_birthday(f"{year:04d}-{month:02d}-{day:02d}")
    return _year_estimate(year, "year") if isinstance(year, int) else None


def _from_fullcontact(blob: dict[str, Any], as_of: date) -> BirthDate | None:
    candidates: tuple[Callable[[], BirthDate | None], ...] = (
        lambda: from_age(blob.get("age"), as_of) if not isinstance(blob.get("age"), dict) else None,
        lambda: from_age(dig(blob, "demographics", "age"), as_of),
        lambda: parse_birthday(dig(blob, "demographics", "birthDate")),
        lambda: _from_v3_birthday(dig(blob, "details", "age", "birthday")),
        lambda: from_age(dig(blob, "details", "age", "value"), as_of),
        lambda: from_age_range(dig(blob, "details", "age", "range"), as_of),
        lambda: from_age_range(blob.get("ageRange"), as_of),
        lambda: from_age_range(dig(blob, "demographics", "age", "range"), as_of),
    )
    for candidate in candidates:
        found = candidate()
        if found:
            return found
    return None


def birth_date_from(
    user: dict[str, Any], fullcontact: list[dict[str, Any]], as_of: date | None = None
) -> BirthDate | None:
    as_of = as_of or date.today()
    if user.get("age") not in (None, ""):
        found = from_age(user["age"], as_of)
        if found:
            return found
    for blob in fullcontact:
        found = _from_fullcontact(blob, as_of)
        if found:
            return found
    for key in ("dateOfBirth", "birthday"):
        found = parse_birthday(user.get(key))
        if found:
            return found
    for identity in user.get("identities") or []:
        found = parse_birthday(dig(identity, "profileData", "birthday"))
        if found:
            return found
    return None
