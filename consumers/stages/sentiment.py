"""The sentiment stage: brand mentions → stored once, scored offline → ``profile.sentiment``.

Work arrives three ways, and all of it ends in the same two steps — store the posts
(``MentionStore.add``: scored, create-only) and recompute the summary of each user they belong
to from every stored mention (``sentiment.users``):

- ``sentiment.requested``, derived by the index stage when a profile gains a Twitter handle or its
  last look-up is older than ``AUTHSTREAM_SENTIMENT_REFRESH_HOURS`` (the article's
  ``sentiment_initialized`` flag, done right): the handle's posts about the brand are read from X,
  at most once per interval per handle, only those newer than what was read before;
- ``sentiment.mention``, one imported post (``authstream mentions import``);
- the brand-wide sweep, a periodic job: one query for every mention of the brand since the last
  sweep, matched to known handles and X user ids. Mentions by people authstream does not know
  yet stay stored; a profile that gains the handle later finds them.

Without an X bearer token only imported mentions are scored. X being down, rate limiting or
refusing the token holds the batch (``RetryableError``) until it works again; the monthly read
budget running out does not: summaries then come from the mentions already stored.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import orjson
import structlog
from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import describe_validation_error
from consumers.pipeline.outcome import DONE, Emit, Handled, Outcome, park
from consumers.pipeline.schedule import Periodic, publish_emits
from consumers.profile.model import DerivedEvent, Profile
from consumers.sentiment.lookups import XLookups
from consumers.sentiment.mentions import MENTION_TYPE, MentionRecord, MentionStore
from consumers.sentiment.models import SentimentModel, load_model, model_name
from consumers.sentiment.reader import XReader
from consumers.sentiment.twitter import (
    SearchApi,
    XRecentSearch,
)
from consumers.sentiment.users import (
    Subject,
    same_handle,
    subject_of,
    summary_data,
    summary_event_id,
    twitter_ids,
)
from consumers.stages.derived import Change, derived_event, derived_id
from consumers.store.elastic import elasticsearch_errors
from consumers.store.state import StateStore
from schemas import SCHEMA_ID, Event

log = structlog.get_logger("authstream.sentiment")

REQUESTED = "sentiment.requested"
# A request waiting in the queue is not made again by the next login for this long.
REQUEST_WINDOW = timedelta(hours=6)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- configuration ---------------------------------------------------------------------------


def missing_configuration(settings: Settings) -> str | None:
    if settings.brand_handle is None:
        return "AUTHSTREAM_BRAND_HANDLE is not set"
    return None


def describe_mode(settings: Settings) -> str:
    """What the stage does under these settings (``authstream setup`` prints it)."""
    scored = f"scored by {model_name(settings)}"
    if settings.x_bearer_token is None:
        return (
            "imported mentions only (`authstream mentions import`): "
            f"AUTHSTREAM_X_BEARER_TOKEN is not set; {scored}"
        )
    sweep = (
        f"sweep every {settings.sentiment_sweep_minutes:g} min"
        if settings.sentiment_sweep_minutes
        else "no sweep"
    )
    return (
        f"X recent search for @{settings.brand_handle}: per user every "
        f"{settings.sentiment_refresh_hours:g} h, {sweep}, "
        f"{settings.x_monthly_read_budget:,} posts/month; {scored}"
    )


# --- what the index stage derives for this stage ---------------------------------------------


def sentiment_wanted(change: Change, settings: Settings) -> list[DerivedEvent]:
    """A ``sentiment.requested`` when the profile has a Twitter handle whose mentions were not
    looked up within the refresh interval (and no request for it is already waiting)."""
    profile = change.after
    handle = profile.twitter_handle
    if not handle or profile.deleted_at is not None:
        return []
    interval = timedelta(hours=settings.sentiment_refresh_hours)
    block = profile.sentiment
    looked = block.finding("looked_up_at") if same_handle(block, handle) and block else None
    if isinstance(looked, str) and datetime.fromisoformat(looked) > change.now - interval:
        return []
    asked_handle, _, asked_at = profile.requested.get("sentiment", "").partition("|")
    window = min(REQUEST_WINDOW, interval)
    if (
        asked_handle == handle
        and asked_at
        and datetime.fromisoformat(asked_at) > change.now - window
    ):
        return []
    data = {"handle": handle, "author_id": sorted(twitter_ids(profile))}
    request = ("sentiment", f"{handle}|{change.now.isoformat()}")
    return [derived_event(REQUESTED, change.cause, profile.user_id, data, REQUESTED, request)]


# --- the stage -------------------------------------------------------------------------------


class SentimentStage:
    name = "sentiment"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        api: SearchApi | None,
        clock: Callable[[], datetime] = utcnow,
        model: SentimentModel | None = None,
    ) -> None:
        assert settings.brand_handle is not None
        self.es = es
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.clock = clock
        self.model = model or load_model(settings)
        self.state = StateStore(es, self.names)
        self.store = MentionStore(es, self.names, self.model, clock)
        self.lookups = (
            XLookups(
                XReader(api, self.state, settings, clock),
                self.store.add,
                self.state,
                settings,
                clock,
            )
            if api is not None
            else None
        )
        every = timedelta(minutes=settings.sentiment_sweep_minutes)
        self.periodic: list[Periodic] = (
            [Periodic("sentiment-sweep", every, self.sweep)]
            if self.lookups is not None and settings.sentiment_sweep_minutes > 0
            else []
        )

    @classmethod
    def from_settings(cls, es: AsyncElasticsearch, settings: Settings) -> "SentimentStage":
        api = XRecentSearch.from_settings(settings) if settings.x_bearer_token else None
        return cls(es, settings, api)

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = [DONE] * len(events)
        imported: list[tuple[int, MentionRecord]] = []
        requests: list[Event] = []
        for position, event in enumerate(events):
            if event.type == MENTION_TYPE:
                try:
                    imported.append(
                        (position, MentionRecord.model_validate(event.data.get("mention")))
                    )
                except ValidationError as exc:
                    outcomes[position] = park(f"not a mention: {describe_validation_error(exc)}")
            elif event.type == REQUESTED:
                requests.append(event)
            else:
                outcomes[position] = park(f"the sentiment stage does not handle {event.type!r}")
        emits: list[Emit] = []
        with elasticsearch_errors(self.settings):
            if imported:
                records = [record for _, record in imported]
                _, refused = await self.store.add(records, "import")
                for position, record in imported:
                    if record.id in refused:
                        outcomes[position] = park(refused[record.id])
                emits += await self.attach([r for r in records if r.id not in refused])
            if requests:
                emits += await self._answer(requests)
        return Handled(outcomes, emits)

    # -- requests: look the handle up (once per interval), then summarise ----------------------

    async def _answer(self, requests: list[Event]) -> list[Emit]:
        """Summaries for requests, for each user's current handle (a request may be stale)."""
        user_ids = list(dict.fromkeys(r.user.user_id for r in requests))
        found = await self.es.mget(index=self.names.users_alias, ids=user_ids)
        subjects = {
            doc["_id"]: subject
            for doc in found["docs"]
            if doc.get("found")
            and (subject := subject_of(Profile.model_validate(doc["_source"]))) is not None
        }
        looked: dict[str, datetime | None] = {}
        for subject in subjects.values():
            if subject.handle and subject.handle not in looked:
                looked[subject.handle] = (
                    await self.lookups.look_up(subject.handle)
                    if self.lookups is not None
                    else self.clock()  # without X, the store is all there is to look at
                )
        emits = []
        for request in requests:
            subject = subjects.get(request.user.user_id)
            if subject is None:
                continue  # erased, or no handle any more: nothing to say
            extra = request.data.get("author_id")
            ids = subject.author_ids | {str(i) for i in (extra or []) if str(i).isdigit()}
            subject = Subject(
                subject.user_id, subject.tenant, subject.handle, frozenset(ids), subject.current
            )
            as_of = self.clock()
            mentions = await self.store.of_user(subject.handle, subject.author_ids)
            data = summary_data(
                mentions,
                subject,
                as_of=as_of,
                looked_up_at=looked.get(subject.handle or ""),
                scorer=self.model,
                model=self.model.name,
            )
            emits.append(
                self._finding(derived_id(request.event_id, "profile.sentiment"), subject, data)
            )
        return emits

    # -- imports and sweeps: the known users these posts belong to ----------------------------

    async def attach(self, records: Sequence[MentionRecord]) -> list[Emit]:
        """New summaries for the known users these mentions belong to; none for a user whose
        summary already covers exactly these mentions (importing twice publishes nothing)."""
        handles = sorted({r.handle for r in records})
        author_ids = sorted({r.author_id for r in records if r.author_id})
        if not handles and not author_ids:
            return []
        emits = []
        for profile in await self._profiles_for(handles, author_ids):
            subject = subject_of(profile)
            if subject is None:
                continue
            as_of = self.clock()
            mentions = await self.store.of_user(subject.handle, subject.author_ids)
            block = subject.current
            same = same_handle(block, subject.handle)
            looked = block.finding("looked_up_at") if same and block else None
            data = summary_data(
                mentions,
                subject,
                as_of=as_of,
                looked_up_at=datetime.fromisoformat(looked) if isinstance(looked, str) else None,
                scorer=self.model,
                model=self.model.name,
            )
            if same and block is not None and block.finding("digest") == data["digest"]:
                continue
            emits.append(self._finding(summary_event_id(subject, data["digest"]), subject, data))
        return emits

    async def _profiles_for(self, handles: list[str], author_ids: list[str]) -> list[Profile]:
        # A profile written before these mentions were stored must be found: refresh first.
        await self.es.indices.refresh(index=self.names.users_alias)
        should: list[dict[str, object]] = [{"terms": {"twitter_handle": handles}}]
        if author_ids:
            should += [
                {"terms": {"sentiment.author_id": author_ids}},
                {"terms": {"user_id": [f"twitter|{i}" for i in author_ids]}},
            ]
        profiles: list[Profile] = []
        after: list[object] | None = None
        while True:
            page = await self.es.search(
                index=self.names.users_alias,
                query={"bool": {"should": should, "minimum_should_match": 1}},
                sort=[{"user_id": "asc"}],
                size=500,
                search_after=after,
            )
            hits = page["hits"]["hits"]
            profiles += [Profile.model_validate(hit["_source"]) for hit in hits]
            if len(hits) < 500:
                return profiles
            after = hits[-1]["sort"]

    # -- the brand-wide sweep (a periodic job) -------------------------------------------------

    async def sweep(self, now: datetime) -> Sequence[Emit]:
        """Read every new mention of the brand, store it, and publish the summaries of the known
        users it concerns. The checkpoint moves only after they are published, so a failure
        reads the same posts again rather than losing a summary."""
        assert self.lookups is not None
        with elasticsearch_errors(self.settings):
            reading, checkpoint = await self.lookups.sweep_read(now)
            await self.store.add(reading.posts, "x-sweep")
            emits = await self.attach(reading.posts)
        await publish_emits(self.settings, emits, "authstream sentiment sweep")
        with elasticsearch_errors(self.settings):
            await self.lookups.sweep_done(reading, checkpoint, now)
        log.info(
            "swept X for brand mentions",
            posts=len(reading.posts),
            summaries=len(emits),
            complete=reading.complete,
        )
        return []

    def _finding(self, event_id: str, subject: Subject, data: dict[str, object]) -> Emit:
        body = {
            "schema": SCHEMA_ID,
            "event_id": event_id,
            "type": "profile.sentiment",
            "occurred_at": data["updated_at"],
            "source": "authstream",
            "tenant": subject.tenant,
            "user": {"user_id": subject.user_id},
            "data": data,
        }
        return Emit(
            self.names.exchange,
            "profile.sentiment",
            orjson.dumps(body),
            event_id,
            "profile.sentiment",
        )

    async def aclose(self) -> None:
        if self.lookups is not None:
            await self.lookups.aclose()
