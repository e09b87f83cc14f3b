"""Periodic jobs a stage runs beside its queue: the brand-wide mention sweep, re-evaluating
time-dependent segments, Log Stream reconciliation.

A stage lists them in ``periodic`` (``Periodic(name, every, run)``); ``run`` gets the time and
returns the messages to publish (``Emit``), which the scheduler publishes with confirms; a job
that may have many publishes them itself a page at a time (``PagePublisher``) and returns none.
With several processes running the same stage, a lease in Elasticsearch lets one of them run a
job per interval, and the time of the last run is kept there too, so a restart does not run it
early.
"""

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from consumers.broker.link import ConfirmChannel, open_confirm_channel
from consumers.broker.publisher import emitted_properties
from consumers.core.errors import AuthstreamError, ConfigurationError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import Emit
from consumers.pipeline.worker import sleep_unless
from consumers.store.elastic import elasticsearch_errors
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.schedule")

POLL_S = 5.0  # how often a process checks whether a job is due


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    run: Callable[[datetime], Awaitable[Sequence[Emit]]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class PagePublisher:
    """Publishes a job's messages a page at a time on one confirm channel, opened at the first
    page that holds any (a job with nothing to say needs no broker). ``publish`` returns once
    the broker has confirmed the whole page, so a job that reads its next page only then holds
    one page at a time, and after a failure every earlier page is known to be published."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.exchange = Names(settings.name_prefix).exchange
        self.published = 0
        self._stack = AsyncExitStack()
        self._channel: ConfirmChannel | None = None

    async def __aenter__(self) -> "PagePublisher":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def publish(self, emits: Sequence[Emit]) -> None:
        """Raises if any message was not confirmed."""
        if not emits:
            return
        if self._channel is None:
            opening = open_confirm_channel(self.settings, name=self.name, exchange=self.exchange)
            self._channel = await self._stack.enter_async_context(opening)
        channel = self._channel
        await asyncio.gather(
            *(
                channel.publish(e.exchange, e.routing_key, e.body, emitted_properties(e))
                for e in emits
            )
        )
        self.published += len(emits)


async def publish_emits(settings: Settings, emits: Sequence[Emit], name: str) -> None:
    """Publish with confirms; raises if any message was not confirmed."""
    async with PagePublisher(settings, name) as publisher:
        await publisher.publish(emits)


async def run_periodic(
    job: Periodic,
    settings: Settings,
    state: StateStore,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = utcnow,
    poll_s: float = POLL_S,
) -> None:
    """Run ``job`` about every ``job.every`` until ``stop``, in one process at a time."""
    holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    last_key, lease_key = f"schedule:{job.name}:last", f"schedule:{job.name}:lease"
    while not stop.is_set():
        try:
            with elasticsearch_errors(settings):
                last = await state.get(last_key)
                now = clock()
                due = last is None or datetime.fromisoformat(last["at"]) + job.every <= now
                if due and await state.lease(lease_key, holder, job.every, now):
                    emits = await job.run(now)
                    await publish_emits(settings, emits, f"authstream {job.name}")
                    await state.put(last_key, {"at": now.isoformat(), "emitted": len(emits)})
                    log.info("periodic job done", job=job.name, emitted=len(emits))
        except ConfigurationError:
            raise
        except AuthstreamError as exc:  # a dependency is down: try again at the next poll
            log.warning("periodic job failed; will try again", job=job.name, error=str(exc))
        await sleep_unless(stop, poll_s)
