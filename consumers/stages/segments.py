"""The segments stage: ``profile.changed`` → every segment evaluated in process → announcements.

Per batch: one ``mget`` of the changed profiles (realtime: the write that caused the change is
there), every segment evaluated on each (``segments.membership``), and for each difference with
the membership the profile records, a ``segment.entered`` or ``segment.left`` published to
``authstream.events`` (routing key ``segment.<name>.<kind>``). The index stage folds them into the
profile (it is the only writer of profiles), destinations deliver them. Erased users (tombstones)
qualify for nothing and are announced nothing.

Time alone changes some memberships (a birthday, "registered 7 days ago"), and a new or edited
definition changes who qualifies: a periodic sweep asks Elasticsearch, per segment, for profiles
whose recorded membership differs from the query, and evaluates those the same way, a page at a
time, each page published before the next is read.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch
from prometheus_client import Counter

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.outcome import DONE, Emit, Handled, Outcome, park
from consumers.pipeline.schedule import PagePublisher, Periodic
from consumers.profile.model import DerivedEvent, Profile
from consumers.segments.definitions import Segment, load_segments
from consumers.segments.membership import (
    Evaluator,
    announcement,
    profile_fields_read,
    transitions,
)
from consumers.stages.derived import Change, profile_changed
from consumers.store.elastic import elasticsearch_errors
from schemas import Event

log = structlog.get_logger("authstream.segments")

CHANGED = "profile.changed"
SWEEP_PAGE = 1_000  # candidates read, evaluated and announced at a time: what a sweep holds
SWEEP_LIMIT = 50_000  # candidates evaluated per sweep; the rest wait for the next one

TRANSITIONS = Counter(
    "authstream_segment_transitions_total",
    "Segment entries and exits announced (a redelivered announcement counts again).",
    ["segment", "kind"],
)


def start_metrics(segments: Mapping[str, Segment]) -> None:
    """Every segment's series at zero from the first scrape (alerts and absent() need them)."""
    for name in segments:
        for kind in ("entered", "left"):
            TRANSITIONS.labels(name, kind)


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def _fields_read(directory: Path | None) -> frozenset[str]:
    return profile_fields_read(load_segments(directory).values())


def membership_may_change(change: Change, settings: Settings) -> list[DerivedEvent]:
    """What the index stage derives for this stage: ``profile.changed``, when the write changed
    a field some segment reads (or the membership itself). A login that only moves
    ``last_login`` asks nothing unless a segment looks at it: fewer messages, smaller outboxes.
    The definitions are read once per process; edited files take effect when the workers
    restart, and the periodic sweep catches up with anything missed meanwhile."""
    if not set(change.changed) & _fields_read(settings.segments_dir):
        return []
    return profile_changed(change, settings)


def segments_missing(settings: Settings) -> str | None:
    """The stage always runs; invalid definitions are a configuration error, raised here so that
    ``setup`` and ``run`` refuse them with the same message as ``segments validate``."""
    load_segments(settings.segments_dir)
    return None


class SegmentsStage:
    name = "segments"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        segments: dict[str, Segment],
        clock: Callable[[], datetime] = utcnow,
        page_size: int = SWEEP_PAGE,
    ) -> None:
        self.es = es
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.segments = segments
        self.evaluator = Evaluator(segments.values())
        self.clock = clock
        self.page_size = page_size
        every = timedelta(minutes=settings.segments_sweep_minutes)
        self.periodic = (Periodic("segments-sweep", every, self.sweep),)
        start_metrics(segments)

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = []
        users: dict[str, None] = {}
        for event in events:
            if event.type == CHANGED:
                users[event.user.user_id] = None
                outcomes.append(DONE)
            else:
                outcomes.append(park(f"the segments stage reads {CHANGED}, not {event.type}"))
        with elasticsearch_errors(self.settings):
            profiles = await self._profiles(list(users))
        return Handled(outcomes, self.announce(profiles, self.clock()))

    def announce(
        self, profiles: Iterable[Profile], now: datetime, only: Iterable[str] | None = None
    ) -> list[Emit]:
        """The entries and exits these profiles are due (in every segment, or ``only`` these),
        as messages to publish."""
        emits = []
        names = self.evaluator.names if only is None else list(only)
        for profile in profiles:
            qualifying = self.evaluator.qualifying(profile, now)
            for transition in transitions(profile, qualifying, names):
                TRANSITIONS.labels(transition.segment, transition.kind).inc()
                emits.append(announcement(profile, transition, now, self.names.exchange))
        return emits

    async def _profiles(self, user_ids: list[str]) -> list[Profile]:
        """Profiles as stored now (tombstones included: ``mget`` ignores the alias filter)."""
        if not user_ids:
            return []
        found = await self.es.mget(index=self.names.users_alias, ids=user_ids)
        return [Profile.model_validate(d["_source"]) for d in found["docs"] if d.get("found")]

    async def sweep(self, now: datetime) -> list[Emit]:
        """Publish what time and definitions have made due, each page of announcements confirmed
        before the next page of candidates is read: the sweep holds one page however many
        profiles are due. If the broker or Elasticsearch fails, the pages before are published
        and the scheduler runs the sweep again: the profiles not announced yet are still
        candidates, and those announced but not folded yet are announced again under the same
        event ids. Nothing is left for the scheduler to publish."""
        async with (
            PagePublisher(self.settings, "authstream segments-sweep") as publisher,
            aclosing(self.due(now)) as pages,
        ):
            async for page in pages:
                await publisher.publish(page)
        log.info("segments swept", announced=publisher.published)
        return []

    async def due(self, now: datetime) -> AsyncGenerator[list[Emit], None]:
        """The announcements due at ``now``, a page of candidates at a time. Per segment, the
        query finds profiles whose recorded membership differs from it; each page is read fresh
        (``mget``) and evaluated in process like any change, and only this segment's entry or
        exit is taken from it, so a profile due in two segments, found by both queries, is
        announced once for each within a sweep."""
        left = SWEEP_LIMIT
        for name, segment in self.segments.items():
            query = segment.render(now=now)
            recorded = {"term": {"segments.name": name}}
            for differs in (
                {"bool": {"filter": [query], "must_not": [recorded]}},  # due to enter
                {"bool": {"filter": [recorded], "must_not": [query]}},  # due to leave
            ):
                async for user_ids in self._candidates(differs, left):
                    left -= len(user_ids)
                    page = self.announce(await self._profiles(user_ids), now, (name,))
                    if page:
                        yield page

    async def _candidates(self, query: dict[str, Any], limit: int) -> AsyncIterator[list[str]]:
        """Matching user ids in pages, in ``user_id`` order (unique): ``search_after`` resumes
        after the last one, so profiles that stop matching as their announcements are folded
        do not shift the pages still to come."""
        after: list[Any] | None = None
        while limit > 0:
            found = await self.es.search(
                index=self.names.users_alias,
                query=query,
                size=min(self.page_size, limit),
                sort=[{"user_id": "asc"}],
                search_after=after,
                source=False,
            )
            hits = found["hits"]["hits"]
            if hits:
                yield [hit["_id"] for hit in hits]
            if len(hits) < self.page_size:
                return
            limit -= len(hits)
            after = hits[-1]["sort"]
