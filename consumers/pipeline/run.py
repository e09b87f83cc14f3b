"""``authstream run``: start stage workers and stop them cleanly on SIGTERM/SIGINT."""

import asyncio
import signal
from collections.abc import Callable

import structlog
from elasticsearch import AsyncElasticsearch

from consumers.core.settings import Settings
from consumers.pipeline.worker import Stage, Worker
from consumers.profile.facts import Taxonomy
from consumers.stages.index import IndexStage
from consumers.store import elastic

log = structlog.get_logger("authstream.run")

StageFactory = Callable[[AsyncElasticsearch, Settings], Stage]

# One registration line per stage.
STAGE_FACTORIES: dict[str, StageFactory] = {
    "index": lambda es, settings: IndexStage(es, settings, Taxonomy.load()),
}


async def run_stages(
    settings: Settings, stages: list[str], stop: asyncio.Event | None = None
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (RuntimeError, ValueError):  # not the main thread (tests run workers in threads)
            break
    async with elastic.connect(settings) as es:
        workers = [Worker(settings, STAGE_FACTORIES[name](es, settings)) for name in stages]
        log.info("starting", stages=stages)
        await asyncio.gather(*(worker.run(stop) for worker in workers))
