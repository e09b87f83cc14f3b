"""Birth dates, never ages: an age stored today is wrong next year.

Precedence follows the article's ``getAge``: ``user.age``, FullContact ``age``,
``demographics.age``, ``demographics.birthDate`` (v2) or ``details.age`` / ``ageRange`` (v3),
``user.dateOfBirth``, ``user.birthday`` (Facebook ``MM/DD/YYYY``), ``user_metadata.birthday`` (what
the user answered), then linked identities.
An age becomes an estimated birth year, kept with its precision and anchored to the day it was
observed.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from consumers.profile.facts.sources import Blob, Fact, Origin, dig, read_first

Precision = Literal["day", "year", "range"]

_US_DATE = re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})$")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_YEAR = re.compile(r"^(?P<y>\d{4})$")
_RANGE = re.compile(r"^\s*(?P<low>\d{1,3})\s*-\s*(?P<high>\d{1,3})\s*$")
EARLIEST_YEAR = 1900  # an older birth date is a placeholder or a typo


@dataclass(frozen=True)
class BirthDate:
    value: date
    precision: Precision  # day: known; year: from an age or a bare year; range: from an age range


def _year_estimate(year: int, precision: Precision) -> BirthDate | None:
    if EARLIEST_YEAR <= year <= date.today().year:
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
            # "0001-01-01" and the like are placeholders, not birthdays: the same years as ages.
            return (
                BirthDate(value, "day")
                if value.year >= EARLIEST_YEAR and value <= date.today()
                else None
            )
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


def _from_v3_birthday(parts: Any, origin: Origin) -> BirthDate | None:
    year, month, day = (dig(parts, k) for k in ("year", "month", "day"))
    if isinstance(year, int) and isinstance(month, int) and isinstance(day, int):
        return parse_birthday(f"{year:04d}-{month:02d}-{day:02d}")
    return _year_estimate(year, "year") if isinstance(year, int) else None


def _age(raw: Any, origin: Origin) -> BirthDate | None:
    # FullContact v3 gives ``age`` as an object ({range, value, birthday}): read its parts instead.
    return None if isinstance(raw, dict) else from_age(raw, origin.observed_on)


def _age_range(raw: Any, origin: Origin) -> BirthDate | None:
    return from_age_range(raw, origin.observed_on)


def _birthday(raw: Any, origin: Origin) -> BirthDate | None:
    return parse_birthday(raw)


_FULLCONTACT_FIELDS = (
    ("age", _age),
    ("demographics.age", _age),
    ("demographics.birthDate", _birthday),
    ("details.age.birthday", _from_v3_birthday),
    ("details.age.value", _age),
    ("details.age.range", _age_range),
    ("ageRange", _age_range),
    ("demographics.age.range", _age_range),
)


def birth_date_from(user: Blob, fullcontact: list[Blob]) -> Fact[BirthDate] | None:
    """The best birth date we have, with where it came from.

    Ages and age ranges are anchored to the day their source observed them (``Origin``), so the
    estimate is the same whenever the profile is folded again.
    """
    found = read_first([(user, "age")], _age)
    for blob in fullcontact:
        for key, read in _FULLCONTACT_FIELDS:
            found = found or read_first([(blob, key)], read)
    # The user's own answer (the "authstream ask" Action stores it in user_metadata).
    declared = [(user, "dateOfBirth"), (user, "birthday"), (user, "user_metadata.birthday")]
    found = found or read_first(declared, _birthday)
    identities = user.data.get("identities") or []
    for position, identity in enumerate(identities if isinstance(identities, list) else []):
        if isinstance(identity, dict):
            sub = Blob(identity, user.origin, f"{user.path}.identities[{position}]".strip("."))
            found = found or read_first([(sub, "profileData.birthday")], _birthday)
    return found
