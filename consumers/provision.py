"""``authstream setup``: declare the broker topology and the Elasticsearch layout, idempotently."""

import contextlib
from dataclasses import dataclass
from typing import Any

import elasticsearch
from elasticsearch import AsyncElasticsearch

from consumers import amqp, elastic
from consumers.names import Names
from consumers.search_layout import (
    USERS_GENERATION,
    USERS_MAPPING,
    fingerprint,
    templates,
    tombstone_filter,
)
from consumers.settings import Settings
from consumers.topology import Change, build_topology, declare_topology, delete_topology


@dataclass(frozen=True)
class EsChange:
    kind: str
    name: str
    action: str  # created | updated | unchanged | deferred
    note: str = ""


def _mapping_fingerprint() -> str:
    return fingerprint(USERS_MAPPING)


async def _ensure_template(es: AsyncElasticsearch, name: str, body: dict[str, Any]) -> EsChange:
    try:
        found = await es.indices.get_index_template(name=name)
        current = found["index_templates"][0]["index_template"].get("_meta", {})
    except elasticsearch.NotFoundError:
        current = None
    if current and current.get("fingerprint") == body["_meta"]["fingerprint"]:
        return EsChange("index template", name, "unchanged")
    await es.indices.put_index_template(name=name, **body)
    return EsChange("index template", name, "created" if current is None else "updated")


async def _ensure_users_index(es: AsyncElasticsearch, names: Names) -> EsChange:
    alias = names.users_alias
    mapping = USERS_MAPPING | {"_meta": {"fingerprint": _mapping_fingerprint()}}
    if await es.indices.exists_alias(name=alias):
        current = await es.indices.get_mapping(index=alias)
        metas = [m["mappings"].get("_meta", {}) for m in current.body.values()]
        if all(m.get("fingerprint") == _mapping_fingerprint() for m in metas):
            return EsChange("index alias", alias, "unchanged")
        # Additive mapping changes apply in place; a conflicting one raises with ES's reason.
        await es.indices.put_mapping(index=alias, **mapping)
        return EsChange("index alias", alias, "updated", "mapping extended in place")
    index = names.users_index(USERS_GENERATION)
    await es.indices.create(
        index=index,
        mappings=mapping,
        aliases={alias: {"is_write_index": True, "filter": tombstone_filter()}},
    )
    return EsChange("index alias", alias, "created", f"→ {index}")


async def _ensure_events_stream(es: AsyncElasticsearch, names: Names) -> EsChange:
    stream = names.events_stream
    if await es.indices.exists(index=stream):
        return EsChange("data stream", stream, "unchanged")
    try:
        await es.indices.create_data_stream(name=stream)
    except elasticsearch.ApiError as exc:
        # Minimal distributions (like the local test node) have no data stream API; the
        # template still makes Elasticsearch create the stream with the first event.
        if exc.meta.status not in (400, 404, 405):
            raise
        return EsChange("data stream", stream, "deferred", "created by the first event")
    return EsChange("data stream", stream, "created")


async def provision_elasticsearch(es: AsyncElasticsearch, settings: Settings) -> list[EsChange]:
    names = Names(settings.name_prefix)
    changes = [await _ensure_template(es, name, body) for name, body in templates(settings).items()]
    changes.append(await _ensure_users_index(es, names))
    changes.append(await _ensure_events_stream(es, names))
    return changes


@dataclass(frozen=True)
class SetupReport:
    broker: list[Change]
    search: list[EsChange]

    @property
    def changed(self) -> int:
        actions = [c.action for c in self.broker] + [c.action for c in self.search]
        return sum(a in ("created", "updated") for a in actions)


async def run_setup(settings: Settings) -> SetupReport:
    async with amqp.connect(settings, name="authstream setup") as connection:
        with amqp.broker_errors(settings):
            broker = await declare_topology(connection, build_topology(settings))
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            search = await provision_elasticsearch(es, settings)
    return SetupReport(broker, search)


async def remove_everything(settings: Settings) -> None:
    """Delete what ``run_setup`` made under this prefix, data included (tests and benchmarks)."""
    if not settings.name_prefix:
        raise ValueError("refusing to remove an unprefixed installation")
    async with amqp.connect(settings, name="authstream teardown") as connection:
        with amqp.broker_errors(settings):
            await delete_topology(connection, build_topology(settings))
    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        # Minimal nodes have no data stream API; their throwaway data dir is wiped on restart.
        with contextlib.suppress(elasticsearch.ApiError):
            await es.indices.delete_data_stream(name=names.events_stream)
        await es.options(ignore_status=404).indices.delete(
            index=f"{settings.name_prefix}*", expand_wildcards="all"
        )
        await es.options(ignore_status=(400, 404)).indices.delete_index_template(
            name=f"{settings.name_prefix}*"
        )


def format_report(report: SetupReport, settings: Settings) -> str:
    lines = [f"RabbitMQ {settings.amqp_url_redacted}"]
    lines += [f"  {c.action:<10} {c.kind:<15} {c.name}" for c in report.broker]
    lines.append(f"Elasticsearch {settings.elasticsearch_url}")
    lines += [
        f"  {c.action:<10} {c.kind:<15} {c.name}" + (f"  ({c.note})" if c.note else "")
        for c in report.search
    ]
    if report.changed:
        lines.append(f"Setup complete: {report.changed} change(s).")
    else:
        lines.append("No changes: everything was already in place.")
    return "\n".join(lines)
