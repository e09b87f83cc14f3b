"""``authstream interests evaluate FILE``: precision and recall of the interest taxonomy per term,
on a labelled file (``consumers.profile.interest_evaluation``)."""

import argparse
import sys
from typing import Any

from consumers.core.settings import Settings
from consumers.profile.facts.interests import Taxonomy
from consumers.profile.interest_evaluation import (
    Target,
    evaluate,
    format_report,
    parse_labelled,
)

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2


def _err(message: str) -> None:
    print(f"authstream: {message}", file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        taxonomy = Taxonomy.load(args.taxonomy)
        targets = [Target.parse(text) for text in args.target]
    except (OSError, ValueError) as exc:
        _err(f"cannot use the taxonomy or targets: {exc}")
        return EXIT_CONFIG
    unknown = sorted({t.term for t in targets} - taxonomy.names)
    if unknown:
        _err(f"no such term(s) in the taxonomy: {', '.join(unknown)}")
        return EXIT_CONFIG
    try:
        with open(args.file, encoding="utf-8") as handle:
            rows = parse_labelled(handle, taxonomy.names)
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror}")
        return EXIT_CONFIG
    except ValueError as exc:
        _err(f"{args.file}: {exc}")
        return EXIT_REJECTED
    print(format_report(rows, taxonomy))
    if args.mistakes:
        for term, scores in evaluate(rows, taxonomy, args.split).items():
            if scores.mistakes and (not args.term or term in args.term):
                print(f"\n{term} ({args.split}): {len(scores.mistakes)} mistake(s)")
                print("\n".join(f"  {m}" for m in scores.mistakes[: args.mistakes]))
    shortfalls = []
    for target in targets:
        for split in ("tune", "heldout"):
            scores = evaluate(rows, taxonomy, split)[target.term]
            if (missing := target.shortfall(scores)) is not None:
                shortfalls.append(f"{split}: {missing}")
    for line in shortfalls:
        print(f"target missed, {line}")
    if targets and not shortfalls:
        met = ", ".join(f"{t.term} P≥{t.precision:g} R≥{t.recall:g}" for t in targets)
        print(f"targets met: {met}")
    return EXIT_REJECTED if shortfalls else EXIT_OK


def add_parser(sub: Any) -> argparse.ArgumentParser:
    interests: argparse.ArgumentParser = sub.add_parser(
        "interests", help="the interest taxonomy: measure it on a labelled file"
    )
    actions = interests.add_subparsers(dest="action", required=True, metavar="ACTION")
    evaluate_ = actions.add_parser(
        "evaluate",
        help="precision and recall per term on labelled JSON lines "
        "(kind, text, category, should, should_not, may)",
    )
    evaluate_.add_argument("file", metavar="FILE", help="labelled JSON lines")
    evaluate_.add_argument(
        "--taxonomy", default=None, help="a taxonomy file to measure (default: the built-in one)"
    )
    evaluate_.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="TERM=P/R",
        help="exit 1 unless TERM reaches precision P at recall R on both parts, e.g. "
        "fitness=0.9/0.8 (repeatable)",
    )
    evaluate_.add_argument(
        "--mistakes", type=int, default=0, help="list this many mistakes per term"
    )
    evaluate_.add_argument(
        "--split",
        choices=["all", "tune", "heldout"],
        default="tune",
        help="whose mistakes --mistakes lists (tune; look at held-out ones only at the end)",
    )
    evaluate_.add_argument("--term", action="append", default=[], help="list mistakes of TERM")
    interests.set_defaults(handler=cmd_evaluate)
    return interests
