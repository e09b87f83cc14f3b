"""``authstream setup``: declare the broker topology and the Elasticsearch layout, idempotently."""

from dataclasses import dataclass

from consumers.broker import admin
from consumers.broker.topology import Change, build_topology, declare_topology, delete_topology
from consumers.core.settings import Settings
from consumers.store import elastic
from consumers.store.provision import EsChange, provision_elasticsearch, remove_search_layout


@dataclass(frozen=True)
class SetupReport:
    broker: list[Change]
    search: list[EsChange]

    @property
    def changed(self) -> int:
        actions = [c.action for c in self.broker] + [c.action for c in self.search]
        return sum(a in ("created", "updated") for a in actions)


async def run_setup(settings: Settings) -> SetupReport:
    async with admin.connect(settings, name="authstream setup") as connection:
        with admin.broker_errors(settings):
            broker = await declare_topology(connection, build_topology(settings))
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            search = await provision_elasticsearch(es, settings)
    return SetupReport(broker, search)


async def remove_everything(settings: Settings) -> None:
    """Delete what ``run_setup`` made under this prefix, data included (tests and benchmarks)."""
    if not settings.name_prefix:
        raise ValueError("refusing to remove an unprefixed installation")
    async with admin.connect(settings, name="authstream teardown") as connection:
        with admin.broker_errors(settings):
            await delete_topology(connection, build_topology(settings))
    async with elastic.connect(settings) as es:
        await remove_search_layout(es, settings)


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
