"""The sweep a page at a time: however many profiles are due, it holds one page of announcements,
publishes it with confirms before reading the next, and a broker lost midway costs nothing that
the next sweep does not announce (under the same event ids)."""

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from elasticsearch.helpers import bulk
from pydantic import SecretStr

from consumers.cli.main import main
from consumers.core.errors import RetryableError
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import Emit
from consumers.profile.model import Profile, SegmentMembership
from consumers.segments.definitions import load_segments
from consumers.segments.membership import transition_id
from consumers.stages.segments import SegmentsStage
from consumers.store import elastic
from tests import broker, search
from tests.proxy import Proxy, proxy_to

NOW = datetime.now(UTC).replace(microsecond=0)
SEGMENT = "registered-not-returned"  # signed up 7+ days ago and never came back
PAGE = 4


def load(settings: Settings, entering: int, leaving: int) -> set[str]:
    """Profiles due to enter SEGMENT and members due to leave it (they came back), written
    straight into the index; the event ids of their announcements."""
    month_ago = NOW - timedelta(days=30)
    profiles = [
        Profile(user_id=f"auth0|in{n:03d}", signed_up_at=month_ago) for n in range(entering)
    ] + [
        Profile(
            user_id=f"auth0|out{n:03d}",
            signed_up_at=month_ago,
            returned=True,
            segments=[SegmentMembership(name=SEGMENT, entered_at=month_ago)],
            segment_transitions={SEGMENT: 1},
        )
        for n in range(leaving)
    ]
    alias = Names(settings.name_prefix).users_alias
    with search.client(settings) as es:
        actions = ({"_index": alias, "_id": p.user_id, "_source": p.document()} for p in profiles)
        bulk(es, actions, refresh=True)
    return {transition_id(p.user_id, SEGMENT, 2 if p.returned else 1) for p in profiles}


class Watched(SegmentsStage):
    """The stage, noting for each page of announcements its size and how many announcements
    were already in the index stage's queue when the page was read."""

    pages: list[tuple[int, int]]
    proxy: Proxy | None = None  # taken down as the third page is read
    queue = ""

    async def due(self, now: datetime) -> AsyncGenerator[list[Emit], None]:
        async for page in super().due(now):
            self.pages.append((len(page), broker.message_count(self.settings, self.queue)))
            if self.proxy is not None and len(self.pages) == 3:
                self.proxy.down()
            yield page


def watched(settings: Settings, proxy: Proxy | None = None) -> Watched:
    async def run() -> Watched:
        async with elastic.connect(settings) as es:
            stage = Watched(es, settings, load_segments(), page_size=PAGE)
            stage.pages, stage.proxy = [], proxy
            stage.queue = Names(settings.name_prefix).work_queue("index")
            assert await stage.sweep(NOW) == []  # it published everything itself
            return stage

    return asyncio.run(asyncio.wait_for(run(), 60))


def test_the_sweep_publishes_each_page_before_it_reads_the_next(settings: Settings) -> None:
    assert main(["setup"]) == 0
    expected = load(settings, entering=23, leaving=9)

    stage = watched(settings)

    sizes = [size for size, _ in stage.pages]
    assert max(sizes) <= PAGE
    assert len(sizes) == 6 + 3  # 23 entries and 9 exits, four at a time
    published_before = [sum(sizes[:k]) for k in range(len(sizes))]
    assert [queued for _, queued in stage.pages] == published_before  # confirmed, then read on
    taken = broker.drain(settings, stage.queue)
    ids = [properties.message_id for _, properties, _ in taken]
    assert sorted(ids) == sorted(expected)  # every one announced, none twice


def test_a_broker_lost_midway_leaves_the_rest_to_the_next_sweep(settings: Settings) -> None:
    assert main(["setup"]) == 0
    expected = load(settings, entering=23, leaving=0)
    amqp = urlsplit(settings.amqp_urls()[0])
    with proxy_to(amqp.hostname or "127.0.0.1", amqp.port or 5672) as proxy:
        through = SecretStr(f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
        with pytest.raises(RetryableError):  # the scheduler tries again at its next poll
            watched(settings.model_copy(update={"amqp_url": through}), proxy)
    queue = Names(settings.name_prefix).work_queue("index")
    assert broker.message_count(settings, queue) == 2 * PAGE  # the pages before the loss

    watched(settings)  # the next attempt: nothing was folded, so everything is due again

    taken = broker.drain(settings, queue)
    ids = [properties.message_id for _, properties, _ in taken]
    assert set(ids) == expected  # nothing missed
    assert len(ids) == len(expected) + 2 * PAGE  # the first pages twice, under the same ids
    bodies = {properties.message_id: body for _, properties, body in taken}
    for _, properties, body in taken:
        assert body == bodies[properties.message_id]  # the same announcement, recognisable
