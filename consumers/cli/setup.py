"""``authstream setup``: declare the broker topology and the Elasticsearch layout, idempotently.

Only the enabled stages get queues (``stages.catalog``); queues and bindings an earlier topology
left behind are reported, and removed with ``--prune``.
"""

from dataclasses import dataclass, field

from consumers.broker import admin
from consumers.broker.leftovers import Leftover, find_leftovers, prune
from consumers.broker.topology import (
    Change,
    Topology,
    build_topology,
    declare_topology,
    delete_topology,
)
from consumers.core.errors import AuthstreamError
from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG, StageSpec, StageStatus, enabled_stages, stage_statuses
from consumers.store import elastic
from consumers.store.provision import EsChange, provision_elasticsearch, remove_search_layout


@dataclass(frozen=True)
class SetupReport:
    stages: list[StageStatus]
    broker: list[Change]
    search: list[EsChange]
    leftovers: list[Leftover] = field(default_factory=list)
    pruned: bool = False
    leftovers_unknown: str = ""  # why leftovers could not be checked

    @property
    def changed(self) -> int:
        actions = [c.action for c in self.broker] + [c.action for c in self.search]
        return sum(a in ("created", "updated") for a in actions) + (
            len(self.leftovers) if self.pruned else 0
        )


def topology_for(settings: Settings, stages: list[StageSpec]) -> Topology:
    return build_topology(settings, {spec.name: spec.bindings for spec in stages})


async def run_setup(settings: Settings, *, prune_leftovers: bool = False) -> SetupReport:
    statuses = stage_statuses(settings)
    wanted = topology_for(settings, enabled_stages(settings))
    async with admin.connect(settings, name="authstream setup") as connection:
        with admin.broker_errors(settings):
            broker = await declare_topology(connection, wanted)
            leftovers: list[Leftover] = []
            unknown = ""
            try:
                leftovers = await find_leftovers(settings, wanted, connection)
            except AuthstreamError as exc:  # leftovers are advice: setup itself succeeded
                unknown = str(exc)
            if prune_leftovers and leftovers:
                await prune(connection, leftovers)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            search = await provision_elasticsearch(es, settings)
    return SetupReport(statuses, broker, search, leftovers, prune_leftovers, unknown)


async def remove_everything(settings: Settings) -> None:
    """Delete what ``run_setup`` made under this prefix, data included (tests and benchmarks):
    the queues of every stage, enabled or not."""
    if not settings.name_prefix:
        raise ValueError("refusing to remove an unprefixed installation")
    async with admin.connect(settings, name="authstream teardown") as connection:
        with admin.broker_errors(settings):
            await delete_topology(connection, topology_for(settings, list(CATALOG.values())))
    async with elastic.connect(settings) as es:
        await remove_search_layout(es, settings)


def format_report(report: SetupReport, settings: Settings) -> str:
    lines = ["Stages"]
    lines += [
        f"  {'on' if s.enabled else 'off':<10} {s.name:<15}"
        + (f" ({s.reason})" if s.reason else "")
        for s in report.stages
    ]
    lines.append(f"RabbitMQ {settings.amqp_url_redacted}")
    lines += [f"  {c.action:<10} {c.kind:<15} {c.name}" for c in report.broker]
    for leftover in report.leftovers:
        action = "removed" if report.pruned else "leftover"
        held = (
            f" ({leftover.messages:,} messages, {leftover.consumers} consumers)"
            if leftover.kind == "queue"
            else ""
        )
        lines.append(f"  {action:<10} {leftover.kind:<15} {leftover.name}{held}")
    if report.leftovers and not report.pruned:
        lines.append(
            f"  {len(report.leftovers)} leftover(s) from an earlier topology: nothing consumes "
            "them. Remove them with `authstream setup --prune` (their messages are deleted)."
        )
    if report.leftovers_unknown:
        lines.append(f"  (leftovers not checked: {report.leftovers_unknown})")
    lines.append(f"Elasticsearch {settings.elasticsearch_url_redacted}")
    lines += [
        f"  {c.action:<10} {c.kind:<15} {c.name}" + (f"  ({c.note})" if c.note else "")
        for c in report.search
    ]
    if report.changed:
        lines.append(f"Setup complete: {report.changed} change(s).")
    else:
        lines.append("No changes: everything was already in place.")
    return "\n".join(lines)
