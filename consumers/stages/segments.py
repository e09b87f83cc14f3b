"""The segments stage: ``profile.changed`` → every segment evaluated in process → announcements.

Per batch: one ``mget`` of the changed profiles (realtime: the write that caused the change is
there), every segment evaluated on each (``segments.membership``), and for each difference with
the membership the profile records, a ``segment.entered`` or ``segment.left`` published to
``authstream.events`` (routing key ``segment.<name>.<kind>``). The index stage folds them into the
profile (it is the only writer of profiles), destinations deliver them. Erased users (tombstones)
qualify for nothing and are announced nothing.

Time alone changes some memberships (a birthday, "registered 7 days ago"), and a new or edited
definition changes who qualifies: a periodic sweep asks Elasticsearch, per segment, for profiles
whose recorded membership differs from the query, and evaluates those the same way.
"""

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
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
from consumers.pipeline.schedule import Periodic
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
SWEEP_PAGE = 1_000
SWEEP_LIMIT = 50_000  # profiles evaluated per sweep; the rest wait for the next one

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
    ) -> None:
        self.es = es
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.segments = segments
        self.evaluator = Evaluator(segments.values())
        self.clock = clock
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

    def announce(self, profiles: Iterable[Profile], now: datetime) -> list[Emit]:
        """The entries and exits these profiles are due, as messages to publish."""
        emits = []
        names = self.evaluator.names
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
        """Profiles whose recorded membership differs from what Elasticsearch says now, evaluated
        in process like any change (the query only finds candidates)."""
        candidates: dict[str, None] = {}
        for name, segment in self.segments.items():
            query = segment.render(now=now)
            recorded = {"term": {"segments.name": name}}
            for differs in (
                {"bool": {"filter": [query], "must_not": [recorded]}},  # due to enter
                {"bool": {"filter": [recorded], "must_not": [query]}},  # due to leave
            ):
                async for user_id in self._ids(differs, SWEEP_LIMIT - len(candidates)):
                    candidates[user_id] = None
        ids = list(candidates)
        emits: list[Emit] = []
        for start in range(0, len(ids), SWEEP_PAGE):
            profiles = await self._profiles(ids[start : start + SWEEP_PAGE])
            emits += self.announce(profiles, now)
        log.info("segments swept", candidates=len(ids), announced=len(emits))
        return emits

    async def _ids(self, query: dict[str, Any], limit: int) -> AsyncIterator[str]:
        after: list[Any] | None = None
        taken = 0
        while taken < limit:
            page = await self.es.search(
                index=self.names.users_alias,
                query=query,
                size=min(SWEEP_PAGE, limit - taken),
                sort=[{"user_id": "asc"}],
                search_after=after,
                source=False,
            )
            hits = page["hits"]["hits"]
            for hit in hits:
                yield hit["_id"]
            taken += len(hits)
            if len(hits) < SWEEP_PAGE:
                return
            after = hits[-1]["sort"]
