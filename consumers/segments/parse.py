"""Reading a ``where:`` block into a condition tree, with every problem found at once.

The language, one condition per key (several keys in one mapping: all of them)::

    all: [...] / any: [...] / not: {...}           nesting ("not: [...]": none of them)
    gender: male                                    equals (a list field: contains)
    location.country_code: [US, CA]                 any of
    interests: {all_of: [fitness, running]}         a list field holds all of them
    consent: {not: refused}                         anything but
    age: {min: 20, max: 40}                         whole years, both ends included
    counters.logins: {min: 3, below: 10}            numbers: min / max (included), above / below
    signed_up_at: {older_than: 7 days}              times relative to now: older_than / within
    last_login: {since: 2026-01-01}                 fixed dates: since (included) / before
    exists: twitter_handle / missing: birth_date
    name: {matches: "john smith"}                   text fields: contains every word
    behavior: {action: cart_item_added, at_least: 2, within: 14 days}

Problems name their place (a path the caller turns into a line) and, for a typo, the likely word.
"""

from typing import Any

from consumers.segments.conditions import (
    Age,
    AllOf,
    AnyOf,
    Behavior,
    Condition,
    ContainsAll,
    Equals,
    Exists,
    Matches,
    Not,
    Range,
    Recent,
)
from consumers.segments.fields import Field, field_named, field_names
from consumers.segments.literals import (
    durations,
    instant,
    number,
    read_scalar,
    suggestion,
)
from consumers.segments.located import Path, Problem
from consumers.segments.text import words

COMBINATORS = ("all", "any", "not", "exists", "missing", "age", "behavior")
OPERATORS: dict[str, tuple[str, ...]] = {
    "keyword": ("is", "any_of", "not"),
    "keywords": ("is", "any_of", "all_of", "not"),
    "text": ("matches", "is", "any_of", "not"),
    "boolean": ("is",),
    "long": ("is", "min", "max", "above", "below", "not"),
    "float": ("min", "max", "above", "below"),
    "date": ("older_than", "within", "since", "before"),
}
BEHAVIOR_KEYS = ("action", "at_least", "at_most", "older_than", "within")
MAX_AGE = 150


class ConditionParser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def _problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(path, message))

    def parse(self, node: Any, path: Path) -> Condition | None:
        """The condition in ``node`` (a mapping), or None when it has problems."""
        if not isinstance(node, dict) or not node:
            self._problem(path, "a condition is a mapping, such as `gender: male`")
            return None
        parts = [self._one(key, value, (*path, key)) for key, value in node.items()]
        if any(part is None for part in parts):
            return None
        found = [part for part in parts if part is not None]
        return found[0] if len(found) == 1 else AllOf(tuple(found))

    def _each(self, node: Any, path: Path) -> tuple[Condition, ...] | None:
        if isinstance(node, dict):
            single = self.parse(node, path)
            return (single,) if single else None
        if not isinstance(node, list) or not node:
            self._problem(path, "expects a list of conditions")
            return None
        items = [self.parse(item, (*path, n)) for n, item in enumerate(node)]
        return None if any(i is None for i in items) else tuple(i for i in items if i)

    def _one(self, key: str, value: Any, path: Path) -> Condition | None:
        if key in ("all", "any"):
            items = self._each(value, path)
            if items is None:
                return None
            return AllOf(items) if key == "all" else AnyOf(items)
        if key == "not":
            items = self._each(value, path)
            if items is None:
                return None
            return Not(items[0] if len(items) == 1 else AnyOf(items))
        if key in ("exists", "missing"):
            return self._exists(key, value, path)
        if key == "age":
            return self._age(value, path)
        if key == "behavior":
            return self._behavior(value, path)
        field = field_named(key)
        if field is None:
            hint = suggestion(key, [*COMBINATORS, *field_names()])
            self._problem(path, f"unknown field or condition '{key}'{hint}")
            return None
        return self._field(field, value, path)

    def _field_name(self, value: Any, path: Path) -> Field | None:
        field = field_named(value) if isinstance(value, str) else None
        if field is None:
            hint = suggestion(str(value), field_names())
            self._problem(path, f"unknown field '{value}'{hint}")
        return field

    def _exists(self, key: str, value: Any, path: Path) -> Condition | None:
        if isinstance(value, list):
            fields = [self._field_name(name, (*path, n)) for n, name in enumerate(value)]
        else:
            fields = [self._field_name(value, path)]
        if not fields:
            self._problem(path, f"`{key}` expects a field name")
        if not fields or any(f is None for f in fields):
            return None
        checks: list[Condition] = [Exists(f) for f in fields if f is not None]
        if key == "missing":
            checks = [Not(check) for check in checks]
        return checks[0] if len(checks) == 1 else AllOf(tuple(checks))

    # --- one field ---------------------------------------------------------------------------

    def _field(self, field: Field, value: Any, path: Path) -> Condition | None:
        if isinstance(value, dict):
            return self._operators(field, value, path)
        if isinstance(value, list):
            return self._any_of(field, value, path)
        if field.kind in ("date",):
            self._problem(path, f"{field.name} is a time: use older_than, within, since or before")
            return None
        if field.kind == "float":
            self._problem(path, f"{field.name} is a decimal number: use min, max, above or below")
            return None
        scalar = read_scalar(field, value, path, self.problems)
        return None if scalar is None else Equals(field, (scalar,))

    def _any_of(self, field: Field, values: Any, path: Path) -> Condition | None:
        if field.kind in ("date", "float", "boolean") or not isinstance(values, list) or not values:
            self._problem(path, f"{field.name} cannot be one of a list of values")
            return None
        scalars = [read_scalar(field, v, (*path, n), self.problems) for n, v in enumerate(values)]
        if any(s is None for s in scalars):
            return None
        return Equals(field, tuple(s for s in scalars if s is not None))

    def _operators(self, field: Field, spec: dict[str, Any], path: Path) -> Condition | None:
        allowed = OPERATORS[field.kind]
        unknown = [op for op in spec if op not in allowed]
        for op in unknown:
            hint = suggestion(op, allowed)
            self._problem(
                (*path, op),
                f"{field.name} has no '{op}'{hint}; it takes: {', '.join(allowed)}",
            )
        if unknown or not spec:
            if not spec:
                self._problem(path, f"{field.name}: say what to compare, e.g. {allowed[0]}")
            return None
        parts: list[Condition | None] = []
        for op, value in spec.items():
            where = (*path, op)
            if op == "is":
                parts.append(self._field(field, value, where))
            elif op == "any_of":
                parts.append(self._any_of(field, value, where))
            elif op == "not":
                inner = self._field(field, value, where)
                parts.append(Not(inner) if inner else None)
            elif op == "all_of":
                inner = self._any_of(field, value, where)
                parts.append(
                    ContainsAll(field, tuple(str(v) for v in inner.values))
                    if isinstance(inner, Equals)
                    else None
                )
            elif op == "matches":
                parts.append(self._matches(field, value, where))
        if any(op in spec for op in ("min", "max", "above", "below")):
            parts.append(self._range(field, spec, path))
        if any(op in spec for op in ("since", "before")):
            parts.append(self._instants(field, spec, path))
        if any(op in spec for op in ("older_than", "within")):
            parts.append(self._recent(field, spec, path))
        if any(part is None for part in parts):
            return None
        found = [p for p in parts if p is not None]
        return found[0] if len(found) == 1 else AllOf(tuple(found))

    def _range(self, field: Field, spec: dict[str, Any], path: Path) -> Condition | None:
        if field.kind not in ("long", "float"):
            self._problem(path, f"{field.name} is not a number")
            return None
        bounds: dict[str, float] = {}
        for op in ("min", "max", "above", "below"):
            if op in spec:
                found = number(spec[op], (*path, op), self.problems, whole=False)
                if found is None:
                    return None
                bounds[op] = found
        for inclusive, exclusive in (("min", "above"), ("max", "below")):
            if inclusive in bounds and exclusive in bounds:
                self._problem(path, f"give {inclusive} or {exclusive}, not both")
                return None
        low_key = "above" if "above" in bounds else "min"
        high_key = "below" if "below" in bounds else "max"
        low, high = bounds.get(low_key), bounds.get(high_key)
        open_ended = low_key == "above" or high_key == "below"
        if low is not None and high is not None and (low > high or (low == high and open_ended)):
            self._problem(
                path,
                f"{field.name}: {low_key} ({_shown(low)}) and {high_key} "
                f"({_shown(high)}) leave nothing in between",
            )
            return None
        return Range(field, low, low_key != "above", high, high_key != "below")

    def _instants(self, field: Field, spec: dict[str, Any], path: Path) -> Condition | None:
        bounds: dict[str, int | None] = {}
        for op in ("since", "before"):
            if op in spec:
                bounds[op] = instant(spec[op], (*path, op), self.problems)
        if any(b is None for b in bounds.values()):
            return None
        since, before = bounds.get("since"), bounds.get("before")
        if since is not None and before is not None and since >= before:
            self._problem(path, f"{field.name}: since must come before 'before'")
            return None
        return Range(field, since, True, before, False)

    def _recent(self, field: Field, spec: dict[str, Any], path: Path) -> Condition | None:
        found = durations(spec, path, self.problems)
        return Recent(field, *found) if found else None

    def _matches(self, field: Field, value: Any, path: Path) -> Condition | None:
        found = words(value) if isinstance(value, str) else []
        if not found:
            self._problem(path, "`matches` expects some words, such as 'smith'")
            return None
        return Matches(field, value, tuple(dict.fromkeys(found)))

    # --- age and behaviour ------------------------------------------------------------------

    def _age(self, value: Any, path: Path) -> Condition | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"min": value, "max": value}
        if not isinstance(value, dict) or not value:
            self._problem(path, "age expects {min: 20, max: 40} (years, both included) or a number")
            return None
        unknown = [k for k in value if k not in ("min", "max")]
        for key in unknown:
            self._problem((*path, key), f"age has no '{key}'{suggestion(key, ['min', 'max'])}")
        bounds = {
            k: number(value[k], (*path, k), self.problems, whole=True)
            for k in ("min", "max")
            if k in value
        }
        if unknown or any(b is None for b in bounds.values()):
            return None
        low, high = bounds.get("min"), bounds.get("max")
        for key, years in bounds.items():
            if years is not None and not 0 <= years <= MAX_AGE:
                self._problem((*path, key), f"an age of {years} years is not a person's age")
                return None
        if low is not None and high is not None and low > high:
            self._problem(path, f"age: min ({low}) is greater than max ({high})")
            return None
        return Age(int(low) if low is not None else None, int(high) if high is not None else None)

    def _behavior(self, value: Any, path: Path) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self._problem(path, "behavior expects {action: cart_item_added, at_least: 2, ...}")
            return None
        unknown = [k for k in value if k not in BEHAVIOR_KEYS]
        for key in unknown:
            hint = suggestion(key, BEHAVIOR_KEYS)
            self._problem(
                (*path, key), f"behavior has no '{key}'{hint}; it takes: {', '.join(BEHAVIOR_KEYS)}"
            )
        actions = value.get("action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if any(not isinstance(a, str) or not a for a in actions):
            self._problem((*path, "action"), "action expects a behaviour name, e.g. page_viewed")
            return None
        counts = {
            k: number(value[k], (*path, k), self.problems, whole=True)
            for k in ("at_least", "at_most")
            if k in value
        }
        times = durations(value, path, self.problems)
        if unknown or times is None or any(c is None for c in counts.values()):
            return None
        at_least, at_most = counts.get("at_least"), counts.get("at_most")
        if at_least is not None and at_most is not None and at_least > at_most:
            self._problem(path, f"behavior: at_least ({at_least}) is more than at_most ({at_most})")
            return None
        return Behavior(
            tuple(a.removeprefix("behavior.") for a in actions),
            int(at_least) if at_least is not None else None,
            int(at_most) if at_most is not None else None,
            *times,
        )


def _shown(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
