"""One customer looked up by user id or email, with their latest events.

Reads go through the users alias, whose filter hides erased users (tombstones): a plain GET by id
would ignore that filter, so the lookup is a search. An email can belong to several profiles (one
per identity provider when accounts are not linked): all of them are returned.
"""

from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.store.elastic import NOT_YET_SEARCHABLE

MAX_PROFILES = 10


@dataclass(frozen=True)
class Person:
    profile: dict[str, Any]
    events: list[dict[str, Any]]  # newest first
    events_total: int


def identity_query(who: str) -> dict[str, Any]:
    """Profiles whose id is ``who``, or whose email is ``who`` (emails are stored lower-cased)."""
    ways: list[dict[str, Any]] = [{"ids": {"values": [who]}}]
    if "@" in who:
        ways.append({"term": {"email": who.strip().lower()}})
    return {"bool": {"should": ways, "minimum_should_match": 1}}


async def latest_events(
    es: AsyncElasticsearch, names: Names, user_id: str, size: int
) -> tuple[list[dict[str, Any]], int]:
    """The user's newest events and how many there are; none when the stream does not exist yet."""
    found = await es.options(ignore_status=NOT_YET_SEARCHABLE).search(
        index=names.events_stream,
        query={"term": {"user.id": user_id}},
        sort=[{"@timestamp": "desc"}],
        size=size,
        track_total_hits=True,
    )
    if found.meta.status != 200:
        return [], 0
    hits = found["hits"]
    return [hit["_source"] for hit in hits["hits"]], int(hits["total"]["value"])


async def look_up(es: AsyncElasticsearch, names: Names, who: str, events: int) -> list[Person]:
    found = await es.search(
        index=names.users_alias,
        query=identity_query(who),
        size=MAX_PROFILES,
        sort=[{"user_id": "asc"}],
    )
    people = []
    for hit in found["hits"]["hits"]:
        profile = hit["_source"]
        recent, total = await latest_events(es, names, profile["user_id"], events)
        people.append(Person(profile, recent, total))
    return people


async def require_users_index(es: AsyncElasticsearch, names: Names) -> None:
    """A clear message instead of Elasticsearch's index_not_found when setup never ran."""
    if not await es.indices.exists_alias(name=names.users_alias):
        raise ConfigurationError(
            f"there is no {names.users_alias} index yet: run `authstream setup` first"
        )
