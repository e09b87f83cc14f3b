"""``authstream run``: start stage workers and stop them cleanly on SIGTERM/SIGINT."""

import asyncio
import contextlib
import signal
from collections.abc import Sequence

import structlog

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.health import Health, elasticsearch_check
from consumers.pipeline.schedule import run_periodic
from consumers.pipeline.worker import Worker
from consumers.stages.catalog import StageContext, StageSpec, enabled_stages
from consumers.store import elastic
from consumers.store.state import StateStore

log = structlog.get_logger("authstream.run")


async def run_stages(
    settings: Settings,
    stages: Sequence[StageSpec],
    stop: asyncio.Event | None = None,
    health: Health | None = None,
) -> None:
    """One worker (one consumer on its queue) per stage, in this process, until ``stop``;
    ``health`` (the probes' state) learns what this process depends on."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (RuntimeError, ValueError):  # not the main thread (tests run workers in threads)
            break
    async with elastic.connect(settings) as es:
        await elastic.require_accepted_credentials(es, settings)
        context = StageContext(es, settings, tuple(enabled_stages(settings)))
        built = [spec.build(context) for spec in stages]
        workers = [Worker(settings, stage) for stage in built]
        state = StateStore(es, Names(settings.name_prefix))
        jobs = [job for stage in built for job in getattr(stage, "periodic", ())]
        watching = []
        if health is not None:
            health.add("elasticsearch", elasticsearch_check(es))
            for worker in workers:
                health.add(f"rabbitmq {worker.queue}", worker.ready)
            watching.append(health.watch(stop))
        log.info("starting", stages=[spec.name for spec in stages], periodic=[j.name for j in jobs])
        try:
            await asyncio.gather(
                *(worker.run(stop) for worker in workers),
                *(run_periodic(job, settings, state, stop) for job in jobs),
                *watching,
            )
        finally:
            for stage in built:
                close = getattr(stage, "aclose", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close()
