"""Commands that publish a file of JSON lines (``publish``, ``mentions import``): reading FILE or
stdin, reporting bad lines by number as they are found, the lines the broker did not confirm, a
summary, and the exit status (1 when any line failed)."""

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, BinaryIO

from consumers.broker.publisher import ErrorSink, PublishReport

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2
MAX_FAILURES_SHOWN = 50

Publish = Callable[[BinaryIO, int | None, ErrorSink], Coroutine[Any, Any, PublishReport]]


def report_line(number: int, reason: str) -> None:
    print(f"line {number}: {reason}", file=sys.stderr)


def publish_lines(file: str, publish: Publish, summary: Callable[[PublishReport], str]) -> int:
    """Run ``publish`` over FILE (``-``: standard input) and report like ``authstream publish``."""
    stream: BinaryIO
    if file == "-":
        stream, total = sys.stdin.buffer, None
    else:
        try:
            stream, total = open(file, "rb"), os.path.getsize(file)  # noqa: SIM115
        except OSError as exc:
            print(f"authstream: cannot read {file}: {exc.strerror}", file=sys.stderr)
            return EXIT_CONFIG
    with stream:
        report = asyncio.run(publish(stream, total, report_line))
    # Invalid lines were reported as they were found; what the broker refused is said now.
    not_confirmed = [(n, r) for n, r in report.failures if r.startswith("not published")]
    for number, reason in not_confirmed[:MAX_FAILURES_SHOWN]:
        report_line(number, reason)
    if len(not_confirmed) > MAX_FAILURES_SHOWN:
        print(f"... and {len(not_confirmed) - MAX_FAILURES_SHOWN} more", file=sys.stderr)
    print(summary(report))
    return EXIT_OK if report.ok else EXIT_REJECTED
