"""``authstream interests evaluate FILE``: precision and recall of the interest taxonomy per term,
on a labelled file (``consumers.profile.interest_evaluation``); ``authstream interests fit``: the
similarity fallback's data from the labelled examples (``consumers.profile.interest_fitting``)."""

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from consumers.cli.arguments import non_negative_int
from consumers.core.outfile import check_writable, replaced_atomically
from consumers.core.settings import Settings
from consumers.profile.facts.interests import Taxonomy
from consumers.profile.facts.similarity import (
    EXAMPLES_FILE,
    INDEX_FILE,
    examples_digest,
    pack_vectors,
    parse_examples,
)
from consumers.profile.interest_evaluation import (
    Target,
    evaluate,
    format_report,
    parse_labelled,
)

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2


def _err(message: str) -> None:
    print(f"authstream: {message}", file=sys.stderr)


def target(text: str) -> Target:
    """``--target TERM=P/R`` as argparse reads it: a malformed one is a usage error."""
    try:
        return Target.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        taxonomy = Taxonomy.load(args.taxonomy, similarity=not args.keywords_only)
        targets: list[Target] = args.target
    except OSError as exc:
        _err(f"cannot read the taxonomy {args.taxonomy}: {exc.strerror}")
        return EXIT_CONFIG
    except ValueError as exc:
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
    if taxonomy.similarity is None or not taxonomy.similarity.encoder_ready():
        print("keywords only (no similarity fallback)")
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


def cmd_fit(args: argparse.Namespace, settings: Settings) -> int:
    from consumers.profile.interest_fitting import TEMPERATURE, K, embed_examples, fit
    from consumers.sentiment.embedding import ModelMissing, shared_model

    data = resources.files("consumers.data")
    out = Path(args.out) if args.out else Path(str(data.joinpath(INDEX_FILE)))
    check_writable(out)  # before minutes of embedding, not after
    text = data.joinpath(EXAMPLES_FILE).read_text("utf-8")
    rows = parse_examples(text)
    try:
        encoder = shared_model().encode
    except (ModelMissing, ImportError) as exc:
        _err(f"cannot fit without the sentence model: {exc}")
        return EXIT_CONFIG
    vectors = embed_examples(rows, encoder)
    fits = fit(rows, vectors.astype("float64"))
    print(f"{len(rows)} examples, k={K}, 5-fold cross-validation on the examples alone")
    for result in fits:
        (kp, kr), (cp, cr) = result.keywords, result.combined
        print(
            f"{result.term:<8} give_at {result.give_at:.2f} keep_at {result.keep_at:.2f} "
            f"sense_k {result.sense_k:<2}  "
            f"keywords {kp * 100:5.1f}% / {kr * 100:5.1f}%   "
            f"with similarity {cp * 100:5.1f}% / {cr * 100:5.1f}%  (precision / recall)"
        )
    index = {
        "_comment": "Made by `authstream interests fit` from interests_examples.jsonl: the "
        "examples' all-MiniLM-L6-v2 vectors (float16, base64) and per term the thresholds "
        "chosen by cross-validation on the examples (consumers/profile/facts/similarity.py).",
        "model": "all-MiniLM-L6-v2",
        "examples_sha256": examples_digest(text),
        "k": K,
        "temperature": TEMPERATURE,
        "terms": {
            r.term: {
                "give_at": r.give_at,
                "keep_at": r.keep_at,
                "sense_k": r.sense_k,
                "cv_keywords": [round(v, 4) for v in r.keywords],
                "cv_with_similarity": [round(v, 4) for v in r.combined],
            }
            for r in fits
        },
        "vectors_float16": pack_vectors(vectors),
    }
    with replaced_atomically(out, mode=0o644) as handle:  # data shipped with the package
        handle.write(json.dumps(index, indent=1) + "\n")
    print(f"wrote {out}")
    return EXIT_OK


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
        type=target,
        action="append",
        default=[],
        metavar="TERM=P/R",
        help="exit 1 unless TERM reaches precision P at recall R on both parts, e.g. "
        "fitness=0.9/0.8 (repeatable)",
    )
    evaluate_.add_argument(
        "--mistakes", type=non_negative_int, default=0, help="list this many mistakes per term"
    )
    evaluate_.add_argument(
        "--split",
        choices=["all", "tune", "heldout"],
        default="tune",
        help="whose mistakes --mistakes lists (tune; look at held-out ones only at the end)",
    )
    evaluate_.add_argument("--term", action="append", default=[], help="list mistakes of TERM")
    evaluate_.add_argument(
        "--keywords-only",
        action="store_true",
        help="measure the keywords without the similarity fallback",
    )
    evaluate_.set_defaults(handler=cmd_evaluate)
    fit_ = actions.add_parser(
        "fit",
        help="embed consumers/data/interests_examples.jsonl and choose the similarity "
        "thresholds by cross-validation on it (writes consumers/data/interests_similarity.json)",
    )
    fit_.add_argument("--out", default=None, help="write the index here instead")
    fit_.set_defaults(handler=cmd_fit)
    return interests
