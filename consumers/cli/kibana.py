"""``authstream kibana import|export``: the marketer's Kibana, prepared in one command."""

import argparse
import asyncio
import sys
from pathlib import Path

from consumers.cli.arguments import non_negative_float
from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.core.outfile import replaced_atomically
from consumers.core.settings import Settings, redact_url
from consumers.kibana.client import KibanaTarget, import_objects
from consumers.kibana.objects import builtin_segments, saved_objects, to_ndjson

EXIT_OK, EXIT_REJECTED = 0, 1


def generated(settings: Settings) -> str:
    return to_ndjson(saved_objects(Names(settings.name_prefix), builtin_segments()))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    ndjson = _read(args.file) if args.file else generated(settings).encode()
    target = KibanaTarget(
        url=args.url or settings.kibana_url,
        space=args.space,
        api_key=settings.kibana_api_key.get_secret_value() if settings.kibana_api_key else None,
        username=settings.kibana_username,
        password=settings.kibana_password.get_secret_value() if settings.kibana_password else None,
    )
    result = asyncio.run(
        import_objects(target, ndjson, overwrite=not args.keep_existing, wait_s=args.wait)
    )
    kinds: dict[str, int] = {}
    for obj in result.imported:
        kinds[obj["type"]] = kinds.get(obj["type"], 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
    print(f"imported into Kibana at {target.shown}: {summary}")
    dashboards = [o for o in result.imported if o["type"] == "dashboard"]
    for board in dashboards:
        home = redact_url(target.api("").removesuffix("/api/"))
        link = f"{home}/app/dashboards#/view/{board['id']}"
        print(f"dashboard: {link}")
    for problem in result.problems():
        print(f"not imported: {problem}", file=sys.stderr)
    return EXIT_REJECTED if result.errors else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    text = generated(settings)
    if args.output:
        with replaced_atomically(args.output, mode=0o644) as out:  # no personal data
            out.write(text)
        print(f"wrote {text.count(chr(10))} saved objects to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    kibana = sub.add_parser(
        "kibana", help="Kibana for marketers: data views, segment searches, the dashboard"
    )
    actions = kibana.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import", help="import the saved objects through Kibana's saved objects API"
    )
    load.add_argument("--url", help="Kibana's URL (default: AUTHSTREAM_KIBANA_URL)")
    load.add_argument(
        "--file", metavar="NDJSON", help="import this file instead (e.g. deploy/kibana/...)"
    )
    load.add_argument("--space", help="a Kibana space other than the default one")
    load.add_argument(
        "--keep-existing",
        action="store_true",
        help="do not overwrite objects that already exist (they are reported as conflicts)",
    )
    load.add_argument(
        "--wait",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="wait for Kibana to start",
    )
    load.set_defaults(handler=cmd_import)
    dump = actions.add_parser("export", help="write the saved objects as NDJSON")
    dump.add_argument("--output", metavar="FILE", help="default: standard output")
    dump.set_defaults(handler=cmd_export)
