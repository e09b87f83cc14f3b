"""The command-line side of exports: flags, where the rows go, progress, and the closing report.

Any command that has an Elasticsearch query for its members (``segments export`` today) adds the
flags with ``add_export_arguments`` and calls ``run_export``.
"""

import argparse
import asyncio
import sys
from typing import Any, TextIO

from consumers.cli.output import pipe_closed
from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.core.outfile import replaced_atomically
from consumers.core.progress import Progress
from consumers.core.settings import Settings
from consumers.people.lookup import require_users_index
from consumers.segments.columns import COLUMNS, DEFAULT_COLUMNS, parse_columns
from consumers.segments.export import SINKS, CsvSink, ExportReport, JsonlSink, export_members
from consumers.store import elastic


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=sorted(SINKS), default="csv")
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="write here (whole or not at all: an existing file is replaced only on success); "
        "default: standard output",
    )
    parser.add_argument(
        "--columns",
        metavar="LIST",
        help=f"comma-separated columns, from: {', '.join(COLUMNS)} "
        f"(default: {','.join(DEFAULT_COLUMNS)})",
    )
    parser.add_argument(
        "--bom", action="store_true", help="CSV: start with a byte order mark, for Excel"
    )


async def _export(
    settings: Settings,
    query: dict[str, Any],
    out: TextIO,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    progress: Progress,
) -> ExportReport:
    sink = CsvSink(out, columns, bom=args.bom) if args.format == "csv" else JsonlSink(out, columns)

    def show(done: int, expected: int) -> None:
        progress.total_bytes = expected
        progress.update(done, done, 0, force=done >= expected)  # always draw the 100%

    names = Names(settings.name_prefix)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            await require_users_index(es, names)
            return await export_members(
                es, names.users_alias, query, sink, settings.consent_policy, on_progress=show
            )


def run_export(
    args: argparse.Namespace, settings: Settings, label: str, query: dict[str, Any]
) -> int:
    """Export the members ``query`` matches as the flags say; the exit status."""
    columns = parse_columns(args.columns)
    if args.bom and args.format != "csv":
        raise ConfigurationError("--bom is for CSV only: JSON lines never start with one")
    # A bar on the terminal, unless the rows themselves are going there.
    progress = Progress(f"exporting {label}", None)
    progress.enabled = progress.enabled and (bool(args.output) or not sys.stdout.isatty())
    try:
        if args.output:
            with replaced_atomically(args.output) as out:
                report = asyncio.run(_export(settings, query, out, args, columns, progress))
        else:
            try:
                report = asyncio.run(_export(settings, query, sys.stdout, args, columns, progress))
                sys.stdout.flush()
            except BrokenPipeError:
                return pipe_closed()
    finally:
        progress.close()
    where = f" to {args.output}" if args.output else ""
    print(f"authstream: {report.summary(label, where)}", file=sys.stderr)
    return 0
