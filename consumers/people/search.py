"""Full-text search over profiles: partial, misspelled and unaccented words find people.

The query is folded like the profiles' ``search`` field (``profile.searchable``), then every word
must match, each in the best of three ways: the exact word, a word it starts ("chlo" → chloé,
served by the field's indexed prefixes), or a word one or two typos away ("chleo", "mueller").
Those ways score 3, 2 and 1 (constant scores: no term statistics), so exact matches rank first,
and the most recently seen profile first among equals.
"""

from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.profile.searchable import query_words

EXACT, PREFIX, TYPO = 3.0, 2.0, 1.0
MIN_PREFIX_CHARS = 2  # as the field's index_prefixes: a one-letter prefix matches everyone
# What a hit shows; the rest of the profile stays on the server.
HIT_FIELDS = (
    "user_id",
    "name",
    "nickname",
    "email",
    "location",
    "interests",
    "last_seen",
    "marketing_consent",
)


def _word_query(word: str) -> dict[str, Any]:
    ways: list[dict[str, Any]] = [
        {"constant_score": {"filter": {"match": {"search": word}}, "boost": EXACT}},
        {
            "constant_score": {
                "filter": {"match": {"search": {"query": word, "fuzziness": "AUTO"}}},
                "boost": TYPO,
            }
        },
    ]
    if len(word) >= MIN_PREFIX_CHARS:
        ways.insert(
            1, {"constant_score": {"filter": {"prefix": {"search": word}}, "boost": PREFIX}}
        )
    return {"dis_max": {"queries": ways}}


def search_query(text: str) -> dict[str, Any] | None:
    """The Elasticsearch query for what a person typed; None when it holds no word."""
    words = query_words(text)
    if not words:
        return None
    return {"bool": {"must": [_word_query(word) for word in words]}}


SORT: list[Any] = [
    {"_score": "desc"},
    {"last_seen": {"order": "desc", "missing": "_last"}},
    {"user_id": "asc"},
]


@dataclass(frozen=True)
class Hits:
    total: int
    exact_total: bool  # False: "at least total" (Elasticsearch stops counting at 10,000)
    people: list[dict[str, Any]]  # profile fields (HIT_FIELDS) plus "score"


async def search_people(es: AsyncElasticsearch, index: str, text: str, limit: int) -> Hits:
    query = search_query(text)
    if query is None:
        return Hits(0, True, [])
    found = await es.search(
        index=index,
        query=query,
        size=limit,
        sort=SORT,
        source_includes=list(HIT_FIELDS),
        track_scores=True,
    )
    total = found["hits"]["total"]
    people = [hit["_source"] | {"score": hit["_score"]} for hit in found["hits"]["hits"]]
    return Hits(int(total["value"]), total["relation"] == "eq", people)
