"""``authstream sync auth0``: the users backfill, and Log Stream reconciliation (``--logs``)."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

from consumers.auth0.client import ManagementClient
from consumers.auth0.logs import LogsReport, reconcile_logs
from consumers.auth0.sync import SyncReport, sync_users
from consumers.core.errors import ThirdPartyAuthRejected
from consumers.core.settings import Settings
from consumers.pipeline import health, metrics
from consumers.store import elastic

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2
T = TypeVar("T")


def format_sync(report: SyncReport) -> str:
    lines = [
        f"synced Auth0 users by {report.method}{' (resumed)' if report.resumed else ''}: "
        f"{report.published:,} published, {report.unchanged:,} unchanged since the last sync, "
        f"{report.rejected:,} rejected, in {report.seconds:.1f} s",
        f"  Auth0: {report.requests:,} request(s), {report.rate_limited:,} rate-limited (waited); "
        f"the next sync starts at updated_at {report.cursor}",
    ]
    lines += [f"  rejected: {reason}" for reason in report.reasons]
    if report.rejected > len(report.reasons):
        lines.append(f"  ... and {report.rejected - len(report.reasons):,} more")
    return "\n".join(lines)


def format_logs(report: LogsReport) -> str:
    if report.started_from is None:
        return "reconciled the Auth0 Log Stream: Auth0 keeps no logs yet"
    line = (
        f"reconciled the Auth0 Log Stream from log {report.started_from}: {report.read:,} read, "
        f"{report.already_indexed:,} already indexed, {report.published:,} published "
        f"(missed by the stream), {len(report.rejected):,} rejected"
    )
    if report.more:
        line += "; more remain (run again, or let the auth0 stage continue)"
    return line + "".join(f"\n  rejected: {reason}" for reason in report.rejected[:50])


async def _reconcile(settings: Settings) -> LogsReport:
    client = ManagementClient.from_settings(settings)
    try:
        async with elastic.connect(settings) as es:
            with elastic.elasticsearch_errors(settings):
                return await reconcile_logs(settings, es, client)
    finally:
        await client.aclose()


async def _watched(settings: Settings, probes: health.Health, work: Awaitable[T]) -> T:
    """``work`` while the probes beat and check Elasticsearch: a backfill of a large tenant runs
    for hours (a Kubernetes Job or a cron), and is watched like any worker."""
    stop = asyncio.Event()
    async with elastic.connect(settings) as es:
        probes.add("elasticsearch", health.elasticsearch_check(es))
        watching = asyncio.create_task(probes.watch(stop))
        try:
            return await work
        finally:
            stop.set()
            await watching


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    metrics.start_provider("auth0")
    probes = health.Health()
    server = health.serve(settings, probes)  # /metrics, /healthz, /readyz while it runs
    try:
        if args.logs:
            logs = asyncio.run(_watched(settings, probes, _reconcile(settings)))
            print(format_logs(logs))
            return EXIT_REJECTED if logs.rejected else EXIT_OK
        work = sync_users(settings, args.method, full=args.full)
        report = asyncio.run(_watched(settings, probes, work))
    except ThirdPartyAuthRejected as exc:  # retrying cannot fix credentials or scopes
        print(f"authstream: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        if server is not None:
            server.close()
    print(format_sync(report))
    return EXIT_REJECTED if report.rejected else EXIT_OK


def add_parser(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> argparse.ArgumentParser:
    sync = sub.add_parser("sync", help="backfill from an identity provider's API (auth0)")
    sync.add_argument("provider", choices=["auth0"], help="where from: auth0")
    sync.add_argument(
        "--method",
        choices=["auto", "search", "export"],
        default="auto",
        help="auto (search below 1,000 users to sync, else the export job), search or export",
    )
    sync.add_argument(
        "--full", action="store_true", help="every user, not only those changed since last time"
    )
    sync.add_argument(
        "--logs",
        action="store_true",
        help="instead of users: fetch the tenant logs the Log Stream missed",
    )
    sync.set_defaults(handler=cmd_sync)
    return sync
