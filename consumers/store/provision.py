"""The Elasticsearch side of ``authstream setup``: index templates, the users alias, the events
stream — idempotent, reporting what changed."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.store import folding
from consumers.store.layout import (
    EVENTS_MAPPING,
    SHARED_SETTINGS,
    USERS_GENERATION,
    USERS_MAPPING,
    fingerprint,
    side_indices,
    templates,
    tombstone_filter,
)


@dataclass(frozen=True)
class EsChange:
    kind: str
    name: str
    action: str  # created | updated | unchanged | deferred
    note: str = ""


# How a node without the data stream API (the local integ-test build) answers its endpoints.
NO_DATA_STREAM_API = (400, 405)


class _NodeIsFine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _expected_refusal() -> Iterator[None]:
    """A node without the data stream API answers its endpoints 405, which the client reads as a
    failing node ("has failed for 1 times in a row, putting on 1 second timeout") and logs as a
    warning at every setup and teardown: that answer is expected here, so it is not logged."""
    pool = logging.getLogger("elastic_transport.node_pool")
    quiet = _NodeIsFine()
    pool.addFilter(quiet)
    try:
        yield
    finally:
        pool.removeFilter(quiet)


def _mapping_fingerprint() -> str:
    return fingerprint(USERS_MAPPING)


async def _ensure_template(es: AsyncElasticsearch, name: str, body: dict[str, Any]) -> EsChange:
    found = await es.options(ignore_status=404).indices.get_index_template(name=name)
    current = (
        found["index_templates"][0]["index_template"].get("_meta", {})
        if found.meta.status == 200
        else None
    )
    if current and current.get("fingerprint") == body["_meta"]["fingerprint"]:
        return EsChange("index template", name, "unchanged")
    await es.indices.put_index_template(name=name, **body)
    return EsChange("index template", name, "created" if current is None else "updated")


async def _ensure_users_index(es: AsyncElasticsearch, names: Names) -> EsChange:
    alias = names.users_alias
    if await es.indices.exists_alias(name=alias):
        folds = await folding.index_folds(es, alias)
        current = await es.indices.get_mapping(index=alias)
        metas = [m["mappings"].get("_meta", {}) for m in current.body.values()]
        if all(m.get("fingerprint") == _mapping_fingerprint() for m in metas):
            return EsChange("index alias", alias, "unchanged", folding.describe(folds))
        # Additive mapping changes apply in place; a conflicting one raises with ES's reason.
        mapping = folding.users_mapping(folds) | {"_meta": {"fingerprint": _mapping_fingerprint()}}
        await es.indices.put_mapping(index=alias, **mapping)
        return EsChange("index alias", alias, "updated", "mapping extended in place")
    index = names.users_index(USERS_GENERATION)
    folds = await folding.cluster_can_fold(es)
    await es.indices.create(
        index=index,
        mappings=folding.users_mapping(folds) | {"_meta": {"fingerprint": _mapping_fingerprint()}},
        settings={"analysis": folding.FOLDING_ANALYSIS} if folds else None,
        aliases={alias: {"is_write_index": True, "filter": tombstone_filter()}},
    )
    return EsChange("index alias", alias, "created", f"→ {index}; {folding.describe(folds)}")


async def _ensure_events_stream(es: AsyncElasticsearch, names: Names) -> EsChange:
    """The events data stream; on a node without the data stream API (the core build the local
    services run), a plain index behind an alias of the same name instead: a data stream cannot
    even be deleted there, and every test namespace would leave one behind."""
    stream, fallback = names.events_stream, f"{names.events_stream}-v1"
    if await es.indices.exists_alias(name=stream):
        kept = await _ensure_index(es, fallback, EVENTS_MAPPING)
        return EsChange("events index", stream, kept.action, f"→ {fallback}, no data stream API")
    if await es.indices.exists(index=stream):
        return EsChange("data stream", stream, "unchanged")
    with _expected_refusal():
        created = await es.options(ignore_status=NO_DATA_STREAM_API).indices.create_data_stream(
            name=stream
        )
        if created.meta.status in NO_DATA_STREAM_API:
            await es.indices.exists(index=stream)  # an answer it takes marks the node alive again
    if created.meta.status not in NO_DATA_STREAM_API:
        return EsChange("data stream", stream, "created")
    mapping = EVENTS_MAPPING | {"_meta": {"fingerprint": fingerprint(EVENTS_MAPPING)}}
    await es.indices.create(
        index=fallback,
        mappings=mapping,
        settings=SHARED_SETTINGS,
        aliases={stream: {"is_write_index": True}},
    )
    return EsChange(
        "events index",
        stream,
        "created",
        f"→ {fallback}: this node has no data stream API, so no retention by lifecycle",
    )


async def _ensure_index(es: AsyncElasticsearch, name: str, mapping: dict[str, Any]) -> EsChange:
    fingerprinted = mapping | {"_meta": {"fingerprint": fingerprint(mapping)}}
    if await es.indices.exists(index=name):
        current = await es.indices.get_mapping(index=name)
        metas = [m["mappings"].get("_meta", {}) for m in current.body.values()]
        if all(m.get("fingerprint") == fingerprint(mapping) for m in metas):
            return EsChange("index", name, "unchanged")
        await es.indices.put_mapping(index=name, **fingerprinted)
        return EsChange("index", name, "updated", "mapping extended in place")
    await es.indices.create(index=name, mappings=fingerprinted, settings=SHARED_SETTINGS)
    return EsChange("index", name, "created")


async def provision_elasticsearch(es: AsyncElasticsearch, settings: Settings) -> list[EsChange]:
    names = Names(settings.name_prefix)
    changes = [await _ensure_template(es, name, body) for name, body in templates(settings).items()]
    changes.append(await _ensure_users_index(es, names))
    changes.append(await _ensure_events_stream(es, names))
    changes += [await _ensure_index(es, n, m) for n, m in side_indices(names).items()]
    return changes


async def remove_search_layout(es: AsyncElasticsearch, settings: Settings) -> None:
    """Delete every index, stream and template under this prefix, data included."""
    names = Names(settings.name_prefix)
    # Nodes without the data stream API have the events in a plain index behind an alias.
    if not await es.indices.exists_alias(name=names.events_stream):
        with _expected_refusal():
            deleted = await es.options(
                ignore_status=(*NO_DATA_STREAM_API, 404)
            ).indices.delete_data_stream(name=names.events_stream)
            if deleted.meta.status in NO_DATA_STREAM_API:
                await es.indices.exists(index=names.events_stream)  # marks the node alive again
    await es.options(ignore_status=404).indices.delete(
        index=f"{settings.name_prefix}*", expand_wildcards="all"
    )
    await es.options(ignore_status=(400, 404)).indices.delete_index_template(
        name=f"{settings.name_prefix}*"
    )
