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


def count_events(settings: Settings, *, allow_missing: bool = False, **term: str) -> int | None:
    """Events matching every ``field=value`` given. A stream that does not exist (or whose shard
    is not started yet) is None, not 0, so "0 events" cannot pass when nothing is there;
    ``allow_missing`` reads a missing stream as 0 events for tests that expect none at all."""
    names = Names(settings.name_prefix)
    with client(settings) as es:
        not_yet = es.options(ignore_status=NOT_YET_SEARCHABLE)
        refreshed = not_yet.indices.refresh(index=names.events_stream)
        if refreshed.meta.status in NOT_YET_SEARCHABLE:
            return 0 if allow_missing and refreshed.meta.status == 404 else None
        filters = [{"term": {field: value}} for field, value in term.items()]
        found = es.count(index=names.events_stream, query={"bool": {"filter": filters}})
        return int(found["count"])


def refresh_users(settings: Settings) -> None:
    with client(settings) as es:
        es.indices.refresh(index=Names(settings.name_prefix).users_alias)
