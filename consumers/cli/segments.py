"""``authstream segments list|show|export|validate|init|bench``.

Definitions come from ``AUTHSTREAM_SEGMENTS_DIR`` (the built-in segments when unset). ``validate``
and ``init`` need no services; ``validate`` exits 1 when a file is invalid, listing every
problem as ``file:line: what (did you mean ...?)``.
"""

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from consumers.cli.arguments import positive_int
from consumers.cli.export import add_export_arguments, run_export
from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.people.lookup import require_users_index
from consumers.segments.definitions import (
    count,
    get_segment,
    load_segments,
    sample,
)
from consumers.segments.export import row_of
from consumers.segments.files import built_in, check_directory, definition_files
from consumers.segments.literals import suggestion
from consumers.segments.segment import Parameter, Segment
from consumers.store import elastic

SAMPLE_COLUMNS = ("user_id", "email", "name", "gender", "birth_date", "interests", "last_login")
EXIT_OK, EXIT_REJECTED = 0, 1


def parse_params(pairs: list[str] | None, segment: Segment) -> dict[str, Parameter]:
    """``--param NAME=VALUE`` overrides for one of the segment's parameters; a value has the type
    of the parameter's default (a whole number or a word). ConfigurationError says what is wrong
    and which parameters the segment has."""
    params: dict[str, Parameter] = {}
    known = ", ".join(f"{k}={v}" for k, v in segment.parameters.items()) or "none"
    for pair in pairs or []:
        key, equals, value = (part.strip() for part in pair.partition("="))
        if not equals or not key or not value:
            raise ConfigurationError(
                f"--param expects NAME=VALUE, got {pair!r}; {segment.name}'s parameters: {known}"
            )
        if key not in segment.parameters:
            hint = suggestion(key, list(segment.parameters))
            raise ConfigurationError(
                f"segment {segment.name} has no parameter {key!r}{hint}; parameters: {known}"
            )
        if isinstance(segment.parameters[key], int):
            if not value.lstrip("-").isdigit():
                raise ConfigurationError(f"--param {key} expects a whole number, got {value!r}")
            params[key] = int(value)
        else:
            params[key] = value
    return params


def table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c)))[:40] for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join("  " + line.rstrip() for line in lines)


async def segments_list(settings: Settings) -> str:
    names = Names(settings.name_prefix)
    segments = load_segments(settings.segments_dir)
    lines = []
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            await require_users_index(es, names)
            for segment in segments.values():
                members_now = await count(es, names, segment.render())
                lines.append(f"{segment.name:<28} {members_now:>8,}  {segment.describe()}")
    return "\n".join(lines)


async def segment_report(
    settings: Settings, name: str, params: dict[str, Parameter], size: int = 5
) -> str:
    segment = get_segment(name, settings.segments_dir)
    names = Names(settings.name_prefix)
    query = segment.render(params)
    async with elastic.connect(settings) as es:
        with elastic.elasticsearch_errors(settings):
            await require_users_index(es, names)
            total = await count(es, names, query)
            rows = [row_of(p) for p in await sample(es, names, query, size)]
    header = f"{segment.name}: {total:,} member(s) — {segment.describe(params)}"
    return header + ("\n" + table(rows, SAMPLE_COLUMNS) if rows else "")


def export_segment(args: argparse.Namespace, settings: Settings) -> int:
    """``segments export``: the segment's query, handed to the export engine (cli.export)."""
    segment = get_segment(args.name, settings.segments_dir)
    query = segment.render(parse_params(args.param, segment))
    return run_export(args, settings, args.name, query)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    directory = Path(args.directory) if args.directory else settings.segments_dir
    shown = str(directory or built_in())
    segments, problems = check_directory(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    for segment in segments.values():
        print(f"ok  {segment.name:<28} {segment.describe()}")
        for destination in segment.destinations:
            unset = "" if os.environ.get(destination.secret_env) else " (not set here)"
            print(f"      → webhook {destination.shown}, secret in {destination.secret_env}{unset}")
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {files} file(s) in {shown}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"{len(segments)} segment(s) in {shown}: all valid")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    """Count and sample; with ``--query`` the Elasticsearch query instead (Kibana, curl)."""
    segment = get_segment(args.name, settings.segments_dir)
    params = parse_params(args.param, segment)
    if args.query:
        print(json.dumps({"query": segment.render(params)}, indent=2))
    else:
        print(asyncio.run(segment_report(settings, args.name, params)))
    return EXIT_OK


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise ConfigurationError(f"cannot put segment files in {target}: it is not a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for file in definition_files(built_in()):
            destination = target / file.name
            if destination.exists():
                print(f"kept     {destination} (already there)")
                continue
            with file.open("rb") as source, destination.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            print(f"created  {destination}")
    except OSError as exc:  # a folder that cannot be made or written (/proc/..., read-only)
        where = exc.filename or target
        raise ConfigurationError(
            f"cannot put segment files in {target}: {where}: {exc.strerror or exc}"
        ) from None
    print(f"Point AUTHSTREAM_SEGMENTS_DIR at {target} and check it: authstream segments validate")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.bench.segments import format_segments_bench, run_segments_bench

    # The boundary: the benchmark's setup and clean-up call Elasticsearch directly, and an
    # unreachable node must read as one (exit 3, redacted URL), not as the client's traceback.
    with elastic.elasticsearch_errors(settings):
        result = asyncio.run(
            run_segments_bench(
                settings, args.profiles, args.segments, args.rate, args.seconds, args.entries
            )
        )
    print(format_segments_bench(result))
    return EXIT_OK


def add_parser(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> argparse.ArgumentParser:
    segments = sub.add_parser(
        "segments", help="campaign segments: list, show, export, validate, init, bench"
    )
    actions = segments.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every segment with its current size")
    for action in ("show", "export"):
        parser = actions.add_parser(action, help=f"{action} one segment")
        parser.add_argument("name", metavar="NAME")
        parser.add_argument(
            "--param",
            action="append",
            metavar="NAME=VALUE",
            help="override a segment parameter, e.g. --param days=14",
        )
        if action == "export":
            add_export_arguments(parser)
        else:
            parser.add_argument(
                "--query", action="store_true", help="print the Elasticsearch query instead"
            )
            parser.set_defaults(handler=cmd_show)
    validate = actions.add_parser("validate", help="check segment definition files")
    validate.add_argument(
        "directory", nargs="?", metavar="DIR", help="default: AUTHSTREAM_SEGMENTS_DIR"
    )
    validate.set_defaults(handler=cmd_validate)
    init = actions.add_parser("init", help="copy the built-in segment files into DIR")
    init.add_argument("directory", metavar="DIR")
    init.set_defaults(handler=cmd_init)
    bench = actions.add_parser("bench", help="in-process evaluation and change → entry latency")
    bench.add_argument(
        "--profiles", type=positive_int, default=1_000, help="changed profiles (1,000)"
    )
    bench.add_argument("--segments", type=positive_int, default=50, help="segments evaluated (50)")
    bench.add_argument(
        "--rate", type=positive_int, default=500, help="profile changes per second (500)"
    )
    bench.add_argument("--seconds", type=positive_int, default=20, help="latency run length (20)")
    bench.add_argument(
        "--entries",
        type=int,
        choices=[1, 3],
        default=1,
        help="segments each change makes the user enter (1: the pre-order campaign alone)",
    )
    bench.set_defaults(handler=cmd_bench)
    return segments
