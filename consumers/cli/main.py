"""The ``authstream`` command line. ``main(argv)`` returns the exit status:

0 success · 1 some input was rejected · 2 usage or configuration error · 3 a service is unreachable
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from consumers import __version__
from consumers.broker import parking_lot
from consumers.broker.publisher import publish_stream
from consumers.cli import definitions as definitions_cli
from consumers.cli import forget
from consumers.cli import interests as interests_cli
from consumers.cli import kibana as kibana_cli
from consumers.cli import mentions as mentions_cli
from consumers.cli import people as people_cli
from consumers.cli import segments as segments_cli
from consumers.cli import sync as sync_cli
from consumers.cli.arguments import (
    non_negative_int,
    port_number,
    positive_float,
    positive_int,
)
from consumers.cli.check import run_check
from consumers.cli.lines import publish_lines
from consumers.cli.output import pipe_closed
from consumers.cli.setup import format_report, run_setup
from consumers.core.errors import AuthstreamError, RetryableError
from consumers.core.gc_tuning import tune_for_throughput
from consumers.core.logs import configure_logging
from consumers.core.names import Names
from consumers.core.settings import Settings, misspelt_settings
from consumers.demo.run import run_demo
from consumers.pipeline import health
from consumers.pipeline.run import run_stages
from consumers.stages.catalog import CATALOG, stages_to_run
from consumers.store import elastic

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG, EXIT_UNAVAILABLE = 0, 1, 2, 3
MAX_FAILURES_SHOWN = 50

Command = Callable[[argparse.Namespace, Settings], int]


def _err(message: str) -> None:
    print(f"authstream: {message}", file=sys.stderr)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(run_setup(settings, prune_leftovers=args.prune))
    print(format_report(report, settings))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    tune_for_throughput()
    return publish_lines(
        args.file,
        lambda stream, total, on_error: publish_stream(
            stream, settings, total_bytes=total, on_error=on_error
        ),
        lambda r: f"published {r.published:,} event(s); {len(r.failures):,} line(s) failed",
    )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    stages = stages_to_run(settings, args.stage)
    tune_for_throughput()
    probes = health.Health()
    health.serve(settings, probes)
    asyncio.run(run_stages(settings, stages, health=probes))
    return EXIT_OK


def cmd_segments(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        print(asyncio.run(segments_cli.segments_list(settings)))
        return EXIT_OK
    return segments_cli.export_segment(args, settings)  # show, validate, ...: their own handlers


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    queue = Names(settings.name_prefix).parking_lot(args.stage)
    if args.action == "list":
        limit = 20 if args.limit is None else args.limit
        parked, total = asyncio.run(parking_lot.list_parked(settings, args.stage, limit))
        print(parking_lot.format_table(parked, total, queue))
    elif args.action == "replay":
        moved = asyncio.run(parking_lot.replay(settings, args.stage, args.limit))
        print(f"replayed {moved:,} message(s) from {queue} onto its work queue")
    elif not args.yes:
        waiting = asyncio.run(parking_lot.count(settings, args.stage))
        _err(f"{queue} holds {waiting:,} message(s); run again with --yes to delete them for good")
        return EXIT_CONFIG
    else:
        deleted = asyncio.run(parking_lot.purge(settings, args.stage))
        print(f"deleted {deleted:,} message(s) from {queue}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.bench.interrupt import Interrupted

    try:
        return _bench(args, settings)
    except Interrupted as exc:
        _err(f"interrupted ({exc}): the benchmark's namespaces were removed")
        return 130


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    # Translated here, at the boundary: a benchmark's set-up and clean-up call Elasticsearch too,
    # and an unreachable node must read as exit 3 with the redacted URL, not a traceback.
    with elastic.elasticsearch_errors(settings):
        return _bench_suite(args, settings)


def _bench_suite(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: benchmark-only code stays off every other command's startup.
    from consumers.bench.indexer import format_result, run_bench
    from consumers.bench.ingest import format_ingest, run_ingest_bench
    from consumers.bench.interrupt import run_interruptible

    def say(line: str) -> None:
        print(line, file=sys.stderr)

    if args.suite == "people":
        from consumers.bench.people import format_people, run_people_bench

        steps = run_people_bench(settings, args.profiles, args.steps, args.export_members, say)
        print(format_people(run_interruptible(steps)))
        return EXIT_OK
    tune_for_throughput()  # the load is generated as `authstream publish` would
    if args.suite == "soak":
        from consumers.bench.soak import format_soak, run_soak

        print(format_soak(run_interruptible(run_soak(settings, args.minutes, args.rate, say))))
        return EXIT_OK
    if args.rate is None:
        args.rate = 1_000
    if args.events is None:
        args.events = {"ingest": 50_000, "topology": 30_000}.get(args.suite, 200_000)
    if args.suite == "ingest":
        ingest = run_ingest_bench(settings, args.events, args.senders)
        print(format_ingest(run_interruptible(ingest)))
        return EXIT_OK
    if args.suite == "topology":
        from consumers.bench.topology import format_topology, run_topology_bench

        runs = run_interruptible(run_topology_bench(settings, args.events))
        print(format_topology(runs))
        return EXIT_OK

    result = run_interruptible(
        run_bench(
            settings,
            args.events,
            args.rate,
            args.latency_seconds,
            args.naive_events,
            say,
            args.index_workers,
        )
    )
    print(format_result(result))
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.ingest.server import serve

    tune_for_throughput()
    serve(settings, args.host, args.port)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(run_demo(settings, args.users))
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    return run_check(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authstream",
        description="Auth0 logins and signups → enriched, searchable user profiles. "
        "Configured through AUTHSTREAM_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"authstream {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    setup = sub.add_parser("setup", help="declare the RabbitMQ topology and Elasticsearch layout")
    setup.add_argument(
        "--prune",
        action="store_true",
        help="remove queues and bindings an earlier topology left (their messages are deleted)",
    )
    setup.set_defaults(handler=cmd_setup)

    publish = sub.add_parser("publish", help="publish events (JSON lines of envelopes)")
    publish.add_argument("file", metavar="FILE", help="a file of JSON lines, or - for stdin")
    publish.set_defaults(handler=cmd_publish)

    run = sub.add_parser("run", help="consume and process events until SIGTERM/SIGINT")
    run.add_argument(
        "--stage",
        default="all",
        metavar="STAGES",
        help=f"'all' (every enabled stage, one consumer per queue) or a comma-separated list of: "
        f"{', '.join(CATALOG)}",
    )
    run.set_defaults(handler=cmd_run)

    segments_cli.add_parser(sub).set_defaults(handler=cmd_segments)
    sync_cli.add_parser(sub)
    people_cli.add_parsers(sub)
    kibana_cli.add_parser(sub)
    mentions_cli.add_parser(sub)
    interests_cli.add_parser(sub)

    parked = sub.add_parser("dlq", help="the parking lot: list, replay or purge failed messages")
    parked.add_argument("action", choices=["list", "replay", "purge"])
    parked.add_argument(
        "--stage", choices=list(CATALOG), default="index", help="whose parking lot (index)"
    )
    parked.add_argument(
        "--limit", type=positive_int, default=None, help="at most this many (list: 20; replay: all)"
    )
    parked.add_argument("--yes", action="store_true", help="purge: really delete")
    parked.set_defaults(handler=cmd_dlq)

    demo = sub.add_parser("demo", help="index a synthetic InnovaShoes tenant, print the segments")
    demo.add_argument(
        "--users", type=non_negative_int, default=500, help="customers to simulate (500)"
    )
    demo.set_defaults(handler=cmd_demo)

    bench = sub.add_parser("bench", help="measure the indexer (or ingest) against its baselines")
    bench.add_argument(
        "suite",
        nargs="?",
        choices=["indexer", "ingest", "topology", "people", "soak"],
        default="indexer",
    )
    bench.add_argument(
        "--events", type=positive_int, default=None, help="workload (200,000; ingest 50,000)"
    )
    bench.add_argument(
        "--senders", type=positive_int, default=4, help="ingest: concurrent senders (4)"
    )
    bench.add_argument(
        "--rate",
        type=positive_int,
        default=None,
        help="offered load for latency (1,000/s); soak: events/s (half the measured maximum)",
    )
    bench.add_argument("--minutes", type=positive_float, default=10.0, help="soak: how long (10)")
    bench.add_argument(
        "--index-workers",
        type=positive_int,
        default=1,
        help="index stage processes in the pipeline (1)",
    )
    bench.add_argument(
        "--latency-seconds", type=positive_int, default=15, help="latency run length (15)"
    )
    bench.add_argument(
        "--naive-events", type=positive_int, default=2_000, help="naive baseline size"
    )
    bench.add_argument(
        "--profiles", type=positive_int, default=1_000_000, help="people: profiles loaded"
    )
    bench.add_argument(
        "--steps", type=positive_int, default=1, help="people: measure after each part"
    )
    bench.add_argument(
        "--export-members",
        type=positive_int,
        default=100_000,
        help="people: members exported (100,000)",
    )
    bench.set_defaults(handler=cmd_bench)

    ingest = sub.add_parser("ingest", help="HTTP endpoint for Auth0 Log Streams and shop events")
    ingest.add_argument("--host", default="127.0.0.1", help="interface (127.0.0.1; 0.0.0.0: all)")
    ingest.add_argument("--port", type=port_number, default=8383, help="port (8383)")
    ingest.set_defaults(handler=cmd_ingest)

    forget.add_parser(sub)
    definitions_cli.add_parser(sub)

    check = sub.add_parser("check", help="health probe: can we reach RabbitMQ and Elasticsearch?")
    check.set_defaults(handler=cmd_check)
    return parser


def load_settings() -> Settings:
    return Settings()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for warning in misspelt_settings(os.environ):
        _err(f"warning: {warning}")
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            variable = "AUTHSTREAM_" + "_".join(str(p) for p in error["loc"][:1]).upper()
            _err(f"invalid configuration: {variable}: {error['msg'].removeprefix('Value error, ')}")
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    handler: Command = args.handler
    try:
        status = handler(args, settings)
        sys.stdout.flush()  # a reader that went away (`| head`) shows here, not at exit
        return status
    except BrokenPipeError:
        return pipe_closed()
    except RetryableError as exc:
        _err(f"error: {exc}")
        return EXIT_UNAVAILABLE
    except AuthstreamError as exc:  # permanent: configuration, conflicts, bad names
        _err(f"error: {exc}")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
