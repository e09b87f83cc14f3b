"""``authstream mentions import FILE|-`` and ``authstream mentions evaluate FILE``."""

import argparse
import sys
from typing import Any

from consumers.cli.arguments import non_negative_int
from consumers.cli.lines import publish_lines
from consumers.core.settings import Settings
from consumers.sentiment.evaluation import compare_file, format_comparison, format_evaluation
from consumers.sentiment.importer import import_mentions

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2
MAX_FAILURES_SHOWN = 50


def _err(message: str) -> None:
    print(f"authstream: {message}", file=sys.stderr)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    return publish_lines(
        args.file,
        lambda stream, total, on_error: import_mentions(
            stream, settings, total_bytes=total, on_error=on_error
        ),
        lambda r: (
            f"imported {r.published:,} mention(s) for the sentiment stage; "
            f"{len(r.failures):,} line(s) failed"
        ),
    )


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        results = compare_file(args.file)
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror}")
        return EXIT_CONFIG
    except ValueError as exc:  # a row without id, text or a known label
        _err(f"{args.file}: {exc}")
        return EXIT_REJECTED
    print(format_comparison(results))
    for result in results:
        if result.name.endswith(f"/ {args.split}"):
            print("\n" + format_evaluation(result, misses=args.misses))
    return EXIT_OK


def cmd_mentions(args: argparse.Namespace, settings: Settings) -> int:
    handler = cmd_import if args.action == "import" else cmd_evaluate
    return handler(args, settings)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    mentions: argparse.ArgumentParser = sub.add_parser(
        "mentions", help="brand mentions: import them for the sentiment stage, evaluate the model"
    )
    actions = mentions.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="JSON lines with id, handle, text, created_at (author_id, url, lang optional)",
    )
    importing.add_argument("file", metavar="FILE", help="a file of JSON lines, or - for stdin")
    evaluate = actions.add_parser(
        "evaluate",
        help="accuracy and confusion matrix on a labelled file (id, text, label per line)",
    )
    evaluate.add_argument("file", metavar="FILE", help="labelled JSON lines")
    evaluate.add_argument(
        "--split",
        choices=["all", "dev", "heldout"],
        default="all",
        help="which rows get the full tables (all; held-out: never tuned on)",
    )
    evaluate.add_argument(
        "--misses", type=non_negative_int, default=0, help="list this many misclassified rows"
    )
    mentions.set_defaults(handler=cmd_mentions)
    return mentions
