"""Campaign segments: named Elasticsearch queries over user profiles, defined in a data file.

Queries use Elasticsearch date math, evaluated at query time, so "aged 20 to 40" stays right as
people have birthdays. Exports are consent-aware: members who refused marketing are never exported.
"""

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ConfigurationError
from consumers.core.names import Names

PAGE_SIZE = 1_000
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
REFUSED_MARKETING = {"term": {"marketing_consent": "refused"}}


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    query: dict[str, Any]
    parameters: dict[str, int] = field(default_factory=dict)

    def render(self, overrides: dict[str, int] | None = None) -> dict[str, Any]:
        """The query with parameters filled in (``{days}`` → ``7``)."""
        values: dict[str, int] = {**self.parameters, **(overrides or {})}
        if "max_age" in values:
            values["max_age_plus_one"] = values["max_age"] + 1

        def fill(node: Any) -> Any:
            if isinstance(node, dict):
                return {key: fill(value) for key, value in node.items()}
            if isinstance(node, list):
                return [fill(value) for value in node]
            if isinstance(node, str):
                return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
            return node

        return dict(fill(self.query))

    def describe(self, overrides: dict[str, int] | None = None) -> str:
        values = {**self.parameters, **(overrides or {})}
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), self.description)


def load_segments(path: str | None = None) -> dict[str, Segment]:
    if path:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    else:
        text = resources.files("consumers.data").joinpath("segments.json").read_text("utf-8")
        raw = json.loads(text)
    return {
        name: Segment(name, spec["description"], spec["query"], spec.get("parameters", {}))
        for name, spec in raw.items()
        if not name.startswith("_")
    }


def get_segment(name: str) -> Segment:
    segments = load_segments()
    if name not in segments:
        known = ", ".join(sorted(segments))
        raise ConfigurationError(f"no segment named {name!r}; known segments: {known}")
    return segments[name]


def exportable(query: dict[str, Any]) -> dict[str, Any]:
    """Members who refused marketing are never exported, whatever the segment says."""
    return {"bool": {"filter": [query], "must_not": [REFUSED_MARKETING]}}


async def count(es: AsyncElasticsearch, names: Names, query: dict[str, Any]) -> int:
    found = await es.count(index=names.users_alias, query=query)
    return int(found["count"])


async def sample(
    es: AsyncElasticsearch, names: Names, query: dict[str, Any], size: int = 5
) -> list[dict[str, Any]]:
    found = await es.search(
        index=names.users_alias,
        query=query,
        size=size,
        sort=[{"last_seen": {"order": "desc", "missing": "_last"}}],
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


async def members(
    es: AsyncElasticsearch, names: Names, query: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    """Every member, in user_id order, a page at a time (search_after: no deep-paging limit)."""
    after: list[Any] | None = None
    while True:
        page = await es.search(
            index=names.users_alias,
            query=query,
            size=PAGE_SIZE,
            sort=[{"user_id": "asc"}],
            search_after=after,
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield hit["_source"]
        if len(hits) < PAGE_SIZE:
            return
        after = hits[-1]["sort"]
