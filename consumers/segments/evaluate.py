"""A condition tree as a predicate over one profile's view (``consumers.segments.view``).

It must say what the Elasticsearch query (``query.py``) says for the same document at the same
instant, so each comparison mirrors the query's: date-math thresholds rounded the same way, a
missing value never matching a comparison (``not`` is plain negation, as ``must_not`` is), keyword
lists matching when any value does. Predicates are built from small closures once per hour
(thresholds only move at hour boundaries) and cost well under a microsecond per segment.
"""

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from consumers.segments.conditions import (
    Age,
    AllOf,
    AnyOf,
    Behavior,
    Condition,
    ContainsAll,
    Duration,
    Equals,
    Exists,
    Matches,
    Not,
    Range,
    Recent,
    floor_to,
    minus_years,
)
from consumers.segments.fields import Field
from consumers.segments.view import BEHAVIORS, View, epoch_ms, float32

Predicate = Callable[[View], bool]
_UNIT_MS = {"h": 3_600_000, "d": 86_400_000}


def view_keys(condition: Condition) -> set[str]:
    """The view entries ``condition`` reads."""
    match condition:
        case Equals(field) if field.kind == "text":
            return {f"{field.name}.keyword"}
        case Matches(field):
            return {f"{field.name}.words"}
        case Equals(field) | ContainsAll(field) | Range(field) | Recent(field) | Exists(field):
            return {field.name}
        case Age():
            return {"birth_date"}
        case Behavior():
            return {BEHAVIORS}
        case AllOf(items) | AnyOf(items):
            return set().union(*(view_keys(item) for item in items))
        case Not(item):
            return view_keys(item)
    raise AssertionError(f"not a condition: {condition!r}")


class Thresholds:
    """The instants relative times mean at ``now``, in epoch milliseconds."""

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)
        self.today = self.now.date()

    def start_of(self, ago: Duration) -> int:
        """The start of the hour or day that was ``ago`` before now."""
        return _ms(floor_to(self.now - ago.delta, ago.rounding))

    def older_than(self, ago: Duration) -> int:
        """Instants before this are at least ``ago`` old (``lte: now-7d/d`` rounds up)."""
        return self.start_of(ago) + _UNIT_MS[ago.rounding]

    def born_by(self, years: int) -> int:
        """Born before this instant: at least ``years`` old today."""
        birthday = minus_years(self.today, years) + timedelta(days=1)
        return _ms(datetime.combine(birthday, time(), UTC))


def _ms(instant: datetime) -> int:
    found = epoch_ms(instant)
    assert found is not None
    return found


def _compare(key: str, low: Any, low_in: bool, high: Any, high_in: bool) -> Predicate:
    if low is not None and high is not None:
        if low_in and high_in:
            return lambda v: (x := v[key]) is not None and low <= x <= high
        if low_in:
            return lambda v: (x := v[key]) is not None and low <= x < high
        if high_in:
            return lambda v: (x := v[key]) is not None and low < x <= high
        return lambda v: (x := v[key]) is not None and low < x < high
    if low is not None:
        if low_in:
            return lambda v: (x := v[key]) is not None and x >= low
        return lambda v: (x := v[key]) is not None and x > low
    if high is not None:
        if high_in:
            return lambda v: (x := v[key]) is not None and x <= high
        return lambda v: (x := v[key]) is not None and x < high
    return lambda v: v[key] is not None


def _bound(field: Field, value: float | None) -> float | None:
    return float32(value) if value is not None and field.kind == "float" else value


def _equals(field: Field, values: tuple[Any, ...]) -> Predicate:
    key = f"{field.name}.keyword" if field.kind == "text" else field.name
    if field.kind == "keywords":
        wanted = frozenset(values)
        return lambda v: not wanted.isdisjoint(v[key])
    if field.kind == "boolean":
        value = values[0]
        return lambda v: v[key] is value
    if len(values) == 1:
        only = values[0]
        return lambda v: v[key] == only
    options = frozenset(values)
    return lambda v: v[key] in options


def _exists(field: Field) -> Predicate:
    key = field.name
    if field.kind == "keywords":
        return lambda v: bool(v[key])
    return lambda v: v[key] is not None


def _recent(key: str, condition: Recent | Behavior, at: Thresholds) -> tuple[Any, Any]:
    """(low, high) bounds: within → at or after the low one, older_than → before the high one."""
    low = at.start_of(condition.within) if condition.within else None
    high = at.older_than(condition.older_than) if condition.older_than else None
    return low, high


def _behavior(condition: Behavior, at: Thresholds) -> Predicate:
    actions = frozenset(condition.actions) or None
    least, most = condition.at_least, condition.at_most
    after, before = _recent(BEHAVIORS, condition, at)

    def one(action: str | None, count: int | None, last: int | None) -> bool:
        if actions is not None and action not in actions:
            return False
        if least is not None and (count is None or count < least):
            return False
        if most is not None and (count is None or count > most):
            return False
        if after is not None and (last is None or last < after):
            return False
        return not (before is not None and (last is None or last >= before))

    return lambda v: any(one(*entry) for entry in v[BEHAVIORS])


def _chain(predicates: list[Predicate], every: bool) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    first, rest = predicates[0], _chain(predicates[1:], every)
    if every:
        return lambda v: first(v) and rest(v)
    return lambda v: first(v) or rest(v)


def predicate(condition: Condition, at: Thresholds) -> Predicate:
    """Does a profile's view meet ``condition`` at the instant ``at`` stands for?"""
    match condition:
        case Equals(field, values):
            return _equals(field, values)
        case ContainsAll(field, values):
            wanted = frozenset(values)
            key = field.name
            return lambda v: wanted <= v[key]
        case Range(field, low, low_in, high, high_in):
            return _compare(field.name, _bound(field, low), low_in, _bound(field, high), high_in)
        case Recent(field):
            low, high = _recent(field.name, condition, at)
            return _compare(field.name, low, True, high, False)
        case Age(youngest, oldest):
            born_by = at.born_by(youngest) if youngest is not None else None
            born_after = at.born_by(oldest + 1) if oldest is not None else None
            return _compare("birth_date", born_after, True, born_by, False)
        case Exists(field):
            return _exists(field)
        case Matches(field, _, words):
            key, wanted = f"{field.name}.words", frozenset(words)
            return lambda v: wanted <= v[key]
        case Behavior():
            return _behavior(condition, at)
        case AllOf(items):
            return _chain([predicate(item, at) for item in items], every=True)
        case AnyOf(items):
            return _chain([predicate(item, at) for item in items], every=False)
        case Not(item):
            inner = predicate(item, at)
            return lambda v: not inner(v)
    raise AssertionError(f"not a condition: {condition!r}")
