"""The condition tree a segment's ``where:`` block is parsed into (``consumers.segments.parse``).

Two evaluators read it and must agree: ``query.py`` turns it into an Elasticsearch query (counts,
exports, Kibana), ``evaluate.py`` into a predicate over one profile (real-time membership).
Relative times are expressed so that both can compute them the same way: a ``Duration`` back from
"now", rounded down to its unit (hour, or day for days and weeks), and ages as whole years counted
the way Elasticsearch date math subtracts years (29 February minus a year is 28 February).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from consumers.segments.fields import Field

Scalar = str | int | float | bool
Unit = Literal["h", "d", "w"]


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit

    @property
    def delta(self) -> timedelta:
        return {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}[
            self.unit
        ] * self.amount

    @property
    def rounding(self) -> Literal["h", "d"]:
        """Times are compared by the hour, or by the day for days and weeks."""
        return "h" if self.unit == "h" else "d"

    def __str__(self) -> str:
        words = {"h": "hour", "d": "day", "w": "week"}
        return f"{self.amount} {words[self.unit]}{'s' if self.amount != 1 else ''}"


@dataclass(frozen=True)
class Equals:
    """The field's value (any of its values, for a list) is one of ``values``."""

    field: Field
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class ContainsAll:
    """A list field (interests, ...) holds every one of ``values``."""

    field: Field
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """A number, or an instant in epoch milliseconds, within bounds."""

    field: Field
    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True


@dataclass(frozen=True)
class Recent:
    """A time relative to now: at least ``older_than`` ago and/or no more than ``within`` ago."""

    field: Field
    older_than: Duration | None = None
    within: Duration | None = None


@dataclass(frozen=True)
class Age:
    """Age in whole years from ``birth_date``, both bounds inclusive."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Exists:
    field: Field


@dataclass(frozen=True)
class Matches:
    """A text field contains every word of ``text`` (words as the standard analyzer finds them)."""

    field: Field
    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Behavior:
    """One behaviour count (``behavior.<action>`` events) that matches everything given."""

    actions: tuple[str, ...] = ()
    at_least: int | None = None
    at_most: int | None = None
    older_than: Duration | None = None  # the last time, at least this long ago
    within: Duration | None = None  # the last time, no longer ago than this


@dataclass(frozen=True)
class AllOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = (
    Equals | ContainsAll | Range | Recent | Age | Exists | Matches | Behavior | AllOf | AnyOf | Not
)


def minus_years(day: date, years: int) -> date:
    """``day`` so many years earlier; 29 February becomes 28 February (java.time's rule, which
    Elasticsearch date math uses)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def floor_to(instant: datetime, unit: Literal["h", "d"]) -> datetime:
    if unit == "h":
        return instant.replace(minute=0, second=0, microsecond=0)
    return instant.replace(hour=0, minute=0, second=0, microsecond=0)


def uses_time(condition: Condition) -> bool:
    """Can membership change with time alone (ages, "7 days ago")?"""
    if isinstance(condition, Recent | Age):
        return True
    if isinstance(condition, Behavior):
        return condition.older_than is not None or condition.within is not None
    if isinstance(condition, AllOf | AnyOf):
        return any(uses_time(item) for item in condition.items)
    if isinstance(condition, Not):
        return uses_time(condition.item)
    return False
