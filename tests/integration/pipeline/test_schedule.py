"""Periodic jobs: one process runs a job per interval, and what it returns is published."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from consumers.cli.setup import run_setup
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import Emit
from consumers.pipeline.schedule import Periodic, run_periodic
from consumers.store import elastic
from consumers.store.state import StateStore
from tests import broker


def test_a_job_runs_once_per_interval_among_several_processes_and_its_messages_are_published(
    settings: Settings,
) -> None:
    names = Names(settings.name_prefix)
    runs: list[datetime] = []
    now = [datetime(2026, 11, 30, 12, 0, tzinfo=UTC)]
    polls = [0]
    ran = asyncio.Event()
    polled_enough = asyncio.Event()

    def clock() -> datetime:  # every poll of every runner reads the clock once
        polls[0] += 1
        if polls[0] >= 40:
            polled_enough.set()
        return now[0]

    async def sweep(at: datetime) -> Sequence[Emit]:
        runs.append(at)
        ran.set()
        body = b'{"swept": true}'
        return [Emit(names.exchange, "auth0.sweep", body, f"sweep-{len(runs)}", "auth0.sweep")]

    job = Periodic("test-sweep", timedelta(hours=1), sweep)

    async def scenario() -> None:
        await run_setup(settings)
        stop = asyncio.Event()
        async with elastic.connect(settings) as es:
            state = StateStore(es, names)
            runners = [  # two "processes" of the same stage, polling fast
                asyncio.create_task(run_periodic(job, settings, state, stop, clock, poll_s=0.02))
                for _ in range(2)
            ]
            await ran.wait()
            await polled_enough.wait()  # many polls later, nobody ran it again within the hour
            assert len(runs) == 1
            ran.clear()
            now[0] += timedelta(hours=1, seconds=1)
            await ran.wait()
            stop.set()
            await asyncio.gather(*runners)

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(runs) == 2
    assert broker.message_count(settings, names.work_queue("index")) == 2
