"""A condition tree as an Elasticsearch query (filters only: no scoring, no scripts).

Relative times use date math, so a query kept in Kibana stays right as days pass: "older than 7
days" is ``lte: now-7d/d`` (the end of that day: rounded up), "within 30 days" ``gte: now-30d/d``
(its start: rounded down), an age of at least 20 ``lte: now-20y/d`` on the birth date. Given a
``now``, the same expressions are anchored to it (``2026-05-01T10:00:00.000Z||-7d/d``): that is
what makes a query and the in-process evaluator at the same instant comparable.
"""

from datetime import UTC, datetime
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
)
from consumers.segments.fields import BEHAVIORS_PATH, Field


def _anchor(now: datetime | None) -> str:
    if now is None:
        return "now"
    utc = now.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z||"


def _ago(duration: Duration, now: datetime | None) -> str:
    return f"{_anchor(now)}-{duration.amount}{duration.unit}/{duration.rounding}"


def _years_ago(years: int, now: datetime | None) -> str:
    return f"{_anchor(now)}-{years}y/d"


def _iso(epoch_ms: float) -> str:
    instant = datetime.fromtimestamp(int(epoch_ms) // 1000, UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch_ms) % 1000:03d}Z"


def _bounds(field: Field, condition: Range) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    convert = _iso if field.kind == "date" else (lambda v: v)
    if condition.low is not None:
        bounds["gte" if condition.low_inclusive else "gt"] = convert(condition.low)
    if condition.high is not None:
        bounds["lte" if condition.high_inclusive else "lt"] = convert(condition.high)
    return bounds


def _recent(
    path: str, older: Duration | None, within: Duration | None, now: datetime | None
) -> dict[str, Any]:
    bounds: dict[str, str] = {}
    if older is not None:
        bounds["lte"] = _ago(older, now)
    if within is not None:
        bounds["gte"] = _ago(within, now)
    return {"range": {path: bounds}}


def _all(queries: list[dict[str, Any]]) -> dict[str, Any]:
    return queries[0] if len(queries) == 1 else {"bool": {"filter": queries}}


def to_query(condition: Condition, now: datetime | None = None) -> dict[str, Any]:
    """The Elasticsearch query for ``condition`` ("now" is Elasticsearch's clock unless given)."""
    match condition:
        case Equals(field, values):
            path = field.exact_path
            if len(values) == 1:
                return {"term": {path: values[0]}}
            return {"terms": {path: list(values)}}
        case ContainsAll(field, values):
            return _all([{"term": {field.path: value}} for value in values])
        case Range(field):
            return {"range": {field.path: _bounds(field, condition)}}
        case Recent(field, older_than, within):
            return _recent(field.path, older_than, within, now)
        case Age(low, high):
            bounds: dict[str, str] = {}
            if low is not None:
                bounds["lte"] = _years_ago(low, now)
            if high is not None:
                bounds["gt"] = _years_ago(high + 1, now)
            return {"range": {"birth_date": bounds}}
        case Exists(field):
            return {"exists": {"field": field.path}}
        case Matches(field, text, _):
            return {"match": {field.path: {"query": text, "operator": "and"}}}
        case Behavior():
            return _behavior(condition, now)
        case AllOf(items):
            return {"bool": {"filter": [to_query(item, now) for item in items]}}
        case AnyOf(items):
            return {
                "bool": {
                    "should": [to_query(item, now) for item in items],
                    "minimum_should_match": 1,
                }
            }
        case Not(item):
            return {"bool": {"must_not": [to_query(item, now)]}}
    raise AssertionError(f"not a condition: {condition!r}")


def _behavior(condition: Behavior, now: datetime | None) -> dict[str, Any]:
    path = BEHAVIORS_PATH
    inner: list[dict[str, Any]] = []
    if condition.actions:
        inner.append({"terms": {f"{path}.action": list(condition.actions)}})
    counts: dict[str, int] = {}
    if condition.at_least is not None:
        counts["gte"] = condition.at_least
    if condition.at_most is not None:
        counts["lte"] = condition.at_most
    if counts:
        inner.append({"range": {f"{path}.count": counts}})
    if condition.older_than or condition.within:
        inner.append(_recent(f"{path}.last_at", condition.older_than, condition.within, now))
    query = {"bool": {"filter": inner}} if inner else {"match_all": {}}
    return {"nested": {"path": path, "query": query}}
