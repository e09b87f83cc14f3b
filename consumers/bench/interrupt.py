"""Benchmarks that clean up when they are stopped.

A 200,000-event run stopped midway once left 600,000 messages in its queues: SIGTERM ended the
process before any ``finally`` ran, and the throwaway namespaces stayed behind. Here SIGINT and
SIGTERM cancel the benchmark's task instead, so every ``finally`` (the namespaces' removal, the
worker processes' SIGTERM) runs before the process exits; a second signal stops it at once.
"""

import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The benchmark was stopped by a signal; its namespaces were removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def run_interruptible(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``, with SIGINT/SIGTERM turned into a cancellation of ``work``."""
    return asyncio.run(_guarded(work))


async def _guarded(work: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        print(
            f"{signal.Signals(signum).name}: removing the benchmark's namespaces ...",
            file=sys.stderr,
        )
        for each in SIGNALS:  # a second signal gets the default: stop now
            loop.remove_signal_handler(each)
        task.cancel()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
