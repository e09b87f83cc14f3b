"""Synchronous Elasticsearch reads for assertions."""

from typing import Any

from elasticsearch import Elasticsearch

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store.elastic import NOT_YET_SEARCHABLE, client_options


def client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(**client_options(settings))


def profile(settings: Settings, user_id: str) -> dict[str, Any] | None:
    with client(settings) as es:
        found = es.options(ignore_status=404).get(
            index=Names(settings.name_prefix).users_alias, id=user_id
        )
        return dict(found["_source"]) if found.get("found") else None


def count_events(settings: Settings, **term: str) -> int:
    names = Names(settings.name_prefix)
    with client(settings) as es:
        not_yet = es.options(ignore_status=NOT_YET_SEARCHABLE)
        not_yet.indices.refresh(index=names.events_stream)
        query = {"term": term} if term else {"match_all": {}}
        found = not_yet.count(index=names.events_stream, query=query)
        return int(found.get("count", 0))


def refresh_users(settings: Settings) -> None:
    with client(settings) as es:
        es.indices.refresh(index=Names(settings.name_prefix).users_alias)
