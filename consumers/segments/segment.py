"""One segment: its name, description, parameters, condition and destinations.

Parameters are written ``$name`` (or ``${name}`` inside a word): a value that is only ``$days``
becomes the parameter itself (a number stays a number), inside text it is spelled out
("``$days days``" → "7 days"), and ``$$`` is a dollar sign. ``--param days=14`` overrides a
default for one count or export; real-time membership always uses the defaults.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from consumers.core.errors import ConfigurationError
from consumers.segments.conditions import Condition
from consumers.segments.literals import suggestion
from consumers.segments.located import Path, Problem
from consumers.segments.parse import ConditionParser
from consumers.segments.query import to_query

Parameter = int | str
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*)|\$)")
TRANSITIONS = ("entered", "left")


def substitute(node: Any, values: dict[str, Parameter], path: Path, problems: list[Problem]) -> Any:
    """``node`` with its ``$parameters`` replaced; unknown names are problems."""
    if isinstance(node, dict):
        return {k: substitute(v, values, (*path, k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, values, (*path, n), problems) for n, v in enumerate(node)]
    if not isinstance(node, str) or "$" not in node:
        return node

    def value_of(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name is None:
            return "$"
        if name not in values:
            hint = suggestion(name, list(values))
            known = f"; parameters: {', '.join(values)}" if values and not hint else ""
            problems.append(Problem(path, f"unknown parameter ${name}{hint}{known}"))
            return match[0]
        return str(values[name])

    whole = _REFERENCE.fullmatch(node.strip())
    if whole and (whole[1] or whole[2]) in values:
        return values[whole[1] or whole[2]]
    return _REFERENCE.sub(value_of, node)


@dataclass(frozen=True)
class Destination:
    """A webhook that hears of a segment's entries and/or exits. The signing secret is read from
    the environment variable ``secret_env`` when the destinations stage starts: never from the
    file."""

    segment: str
    name: str
    url: str
    secret_env: str
    events: tuple[str, ...] = TRANSITIONS

    @property
    def key(self) -> str:
        """Identifies deliveries to this destination (a new name or URL starts afresh)."""
        return hashlib.sha256(f"{self.segment}|{self.name}|{self.url}".encode()).hexdigest()[:16]

    @property
    def shown(self) -> str:
        """How logs and errors name it: no path or query, where tokens hide."""
        parts = urlsplit(self.url)
        return f"{self.segment}/{self.name} ({parts.scheme}://{parts.netloc})"


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    where: Any  # the condition as written, before parameters are filled in
    parameters: dict[str, Parameter] = field(default_factory=dict)
    destinations: tuple[Destination, ...] = ()
    source: str = ""  # the file it comes from

    def values(self, overrides: Mapping[str, Parameter] | None = None) -> dict[str, Parameter]:
        unknown = [k for k in overrides or {} if k not in self.parameters]
        if unknown:
            name = unknown[0]
            hint = suggestion(name, list(self.parameters))
            known = ", ".join(self.parameters) or "none"
            raise ConfigurationError(
                f"segment {self.name} has no parameter {name!r}{hint}; parameters: {known}"
            )
        return {**self.parameters, **(overrides or {})}

    def condition(self, overrides: Mapping[str, Parameter] | None = None) -> Condition:
        if not overrides:
            return self.default_condition
        problems: list[Problem] = []
        where = substitute(self.where, self.values(overrides), ("where",), problems)
        parser = ConditionParser()
        condition = parser.parse(where, ("where",))
        problems += parser.problems
        if condition is None or problems:
            said = "; ".join(p.message for p in problems)
            raise ConfigurationError(f"segment {self.name} with {overrides}: {said}")
        return condition

    @cached_property
    def default_condition(self) -> Condition:
        problems: list[Problem] = []
        where = substitute(self.where, self.parameters, ("where",), problems)
        condition = ConditionParser().parse(where, ("where",))
        if condition is None or problems:  # files are checked before a Segment is made
            raise ConfigurationError(f"segment {self.name} has an invalid condition")
        return condition

    def render(
        self, overrides: Mapping[str, Parameter] | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """The Elasticsearch query (relative times against ``now``, else Elasticsearch's)."""
        return to_query(self.condition(overrides), now)

    def describe(self, overrides: Mapping[str, Parameter] | None = None) -> str:
        described = substitute(self.description, self.values(overrides), (), [])
        return str(described)
