"""Run stage workers in a background thread for a test, and stop them cleanly."""

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from consumers.core.settings import Settings
from consumers.pipeline.health import Health
from consumers.pipeline.run import run_stages
from consumers.pipeline.worker import Stage, Worker
from consumers.stages.catalog import CATALOG


@contextmanager
def _in_a_thread(work: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Iterator[None]:
    """``work(stop)`` on its own event loop in a thread until the block ends; then ``stop`` is set
    and the thread must end within 30 s. A failure of the work is raised in the test."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(work(stop))
        except BaseException as exc:  # surfaced in the test thread below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        assert not thread.is_alive(), "worker did not stop within 30 s"
        if failure:
            raise AssertionError(f"the worker failed: {failure[0]!r}") from failure[0]


@contextmanager
def running(
    settings: Settings, stages: tuple[str, ...] = ("index",), health: Health | None = None
) -> Iterator[None]:
    """The catalog's stages, as `authstream run --stage ...` runs them (with ``health``: their
    dependency checks too, as the probes see them)."""
    chosen = [CATALOG[name] for name in stages]
    with _in_a_thread(lambda stop: run_stages(settings, chosen, stop, health)):
        yield


@contextmanager
def running_stage(settings: Settings, stage: Stage) -> Iterator[Worker]:
    """The real worker loop around a stage a test wrote (one that fails, crashes, races...),
    consuming from that stage's queue on the real broker."""
    worker = Worker(settings, stage)
    with _in_a_thread(worker.run):
        yield worker
