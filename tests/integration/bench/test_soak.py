"""The soak's load generator keeps its schedule and ends on time, also when the broker drops it
(someone restarting the shared broker used to end a soak with an unrelated error)."""

import asyncio

from consumers.bench.soak import Offered, _offer, load_connection
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker

HANG_GUARD_S = 120  # not a timing claim: a load generator that never returns fails here


def test_the_load_is_offered_at_the_rate_and_the_generator_ends(settings: Settings) -> None:
    assert main(["setup"]) == 0
    offered = Offered()
    asyncio.run(asyncio.wait_for(_offer(settings, 100, 2, offered), HANG_GUARD_S))
    queue = Names(settings.name_prefix).work_queue("index")
    assert offered.lost_sessions == 0 and offered.unconfirmed == 0
    assert 150 <= offered.confirmed <= 201  # due in the first 2 s at 100/s
    assert broker.message_count(settings, queue) == offered.confirmed


def test_the_load_goes_on_after_the_broker_drops_the_generator(settings: Settings) -> None:
    assert main(["setup"]) == 0
    queue = Names(settings.name_prefix).work_queue("index")
    offered = Offered()
    at_the_cut: list[int] = []

    async def scenario() -> None:
        offering = asyncio.create_task(_offer(settings, 100, 8, offered))
        while not at_the_cut:  # once it has published something, cut its connection
            await asyncio.sleep(0.2)
            if broker.message_count(settings, queue) > 50 and broker.cut_connections(
                settings, load_connection(settings)
            ):
                at_the_cut.append(broker.message_count(settings, queue))
        await asyncio.wait_for(offering, HANG_GUARD_S)

    asyncio.run(scenario())
    assert offered.lost_sessions == 1
    assert broker.message_count(settings, queue) > at_the_cut[0]  # published after the cut too
    held = broker.message_count(settings, queue)
    assert offered.confirmed <= held <= offered.confirmed + offered.unconfirmed
