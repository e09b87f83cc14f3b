"""``authstream segments list|show|export``."""

import argparse
from typing import Any

from consumers.cli.export import add_export_arguments, run_export
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.segments.definitions import (
    count,
    get_segment,
    load_segments,
    sample,
)
from consumers.segments.export import row_of
from consumers.store import elastic

SAMPLE_COLUMNS = ("user_id", "email", "name", "gender", "birth_date", "interests", "last_login")


def parse_params(pairs: list[str] | None) -> dict[str, int]:
    params: dict[str, int] = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        if not value.strip().lstrip("-").isdigit():
            raise SystemExit(f"authstream: --param expects NAME=NUMBER, got {pair!r}")
        params[key.strip()] = int(value)
    return params


def table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c)))[:40] for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join("  " + line.rstrip() for line in lines)


async def segments_list(settings: Settings) -> str:
    names = Names(settings.name_prefix)
    lines = []
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            for segment in load_segments().values():
                members_now = await count(es, names, segment.render())
                lines.append(f"{segment.name:<28} {members_now:>8,}  {segment.describe()}")
    return "\n".join(lines)


async def segment_report(
    settings: Settings, name: str, params: dict[str, int], size: int = 5
) -> str:
    segment = get_segment(name)
    names = Names(settings.name_prefix)
    query = segment.render(params)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            total = await count(es, names, query)
            rows = [row_of(p) for p in await sample(es, names, query, size)]
    header = f"{segment.name}: {total:,} member(s) — {segment.describe(params)}"
    return header + ("\n" + table(rows, SAMPLE_COLUMNS) if rows else "")


def export_segment(args: argparse.Namespace, settings: Settings) -> int:
    """``segments export``: the segment's query, handed to the export engine (cli.export)."""
    query = get_segment(args.name).render(parse_params(args.param))
    return run_export(args, settings, args.name, query)


def add_parser(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> argparse.ArgumentParser:
    segments = sub.add_parser("segments", help="campaign segments: list, show, export")
    actions = segments.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every segment with its current size")
    for action in ("show", "export"):
        parser = actions.add_parser(action, help=f"{action} one segment")
        parser.add_argument("name", metavar="NAME")
        parser.add_argument(
            "--param",
            action="append",
            metavar="NAME=NUMBER",
            help="override a segment parameter, e.g. --param days=14",
        )
        if action == "export":
            add_export_arguments(parser)
    return segments
