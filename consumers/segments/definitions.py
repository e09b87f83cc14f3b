"""Campaign segments: definitions loaded from files, and their members in Elasticsearch.

A segment is defined once (``consumers.segments.files``) and evaluated two ways: as an
Elasticsearch query here (counts, samples, exports, Kibana) and in process by the segments stage
(real-time entry and exit). Relative times use Elasticsearch date math, evaluated at query time,
so "aged 20 to 40" stays right as people have birthdays. Exports are consent-aware: members who
refused marketing are never exported.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.segments.files import InvalidDefinitions, load_directory
from consumers.segments.literals import suggestion
from consumers.segments.segment import Destination, Segment

__all__ = [
    "Destination",
    "InvalidDefinitions",
    "Segment",
    "count",
    "exportable",
    "get_segment",
    "load_segments",
    "members",
    "sample",
]

PAGE_SIZE = 1_000
REFUSED_MARKETING = {"term": {"marketing_consent": "refused"}}


def load_segments(directory: Path | None = None) -> dict[str, Segment]:
    """The segments defined in ``directory`` (``AUTHSTREAM_SEGMENTS_DIR``; the built-in ones when
    None). Raises ``InvalidDefinitions`` (a configuration error) listing every problem."""
    return load_directory(directory)


def get_segment(name: str, directory: Path | None = None) -> Segment:
    segments = load_segments(directory)
    if name not in segments:
        known = ", ".join(sorted(segments))
        hint = suggestion(name, list(segments))
        raise ConfigurationError(f"no segment named {name!r}{hint}; known segments: {known}")
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
