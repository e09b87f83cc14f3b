"""The index stage: events → event documents + folded user profiles, one bulk request per batch.

Per batch: one ``mget`` of the users' current profiles, the pure fold (``consumers.profile``), then
one ``bulk`` with every event document (``create``, ``_id`` = event_id: a 409 means already stored)
and every changed profile (written only if nobody else wrote it since we read it: ``if_seq_no``).
A profile that lost that race is read and folded again. Item errors are classified per event:
a document Elasticsearch refuses is parked with the reason; an overloaded or blocked cluster (429,
5xx, a disk-full block) holds the whole batch instead, without counting attempts; rejected
credentials stop the process. A refusal of the whole request (an id or a body Elasticsearch will
not take at all) is narrowed down, by halves, to the events that caused it, and only those park.
Events that say they build no profile (``data.builds_profile: false``: Auth0 admin and machine
records, failed logins of unknown users) are stored as event documents and folded into nothing.

Anonymous visitors (``user_id`` ``anon:<id>``) get no profile: their events wait in their visitor
record until a user's event claims them, and then count for that user exactly once
(``stages.visitors``, ``profile.visitors``).

Each write also derives what the other stages need (``stages.derived``: ``profile.changed``, work
requests), kept in the profile's outbox by the same write; the stage hands them to the worker,
which publishes them with confirms before it acks. The index stage is the only consumer of raw
events and the only writer of profiles.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ConfigurationError, DocumentRejected, ElasticsearchUnavailable
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline import metrics
from consumers.pipeline.outcome import DONE, Emit, Handled, Outcome, park, retry
from consumers.profile.anonymous import visitor_of
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import finding_problem, fold, tombstone
from consumers.profile.model import Profile, event_fingerprint
from consumers.profile.visitors import note_merged
from consumers.stages.derived import Change, Rule, changed_since, record, set_fields, to_publish
from consumers.stages.erase import erase_everywhere
from consumers.stages.visitors import Visitors
from consumers.stages.written_profiles import WrittenProfiles
from consumers.store.elastic import elasticsearch_errors, is_retryable_status
from schemas import Event

CONFLICT_ROUNDS = 5
log = structlog.get_logger("authstream.index")


class _Hold(Exception):
    """Items Elasticsearch could not take now (overload, a block): hold the whole batch."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_document(event: Event, ingested: datetime) -> dict[str, Any]:
    """ECS-style event document for the events data stream."""
    context, user = event.context, event.user
    geo = context.geo
    document: dict[str, Any] = {
        "@timestamp": event.occurred_at.isoformat(),
        "event": {
            "id": event.event_id,
            "action": event.type,
            "dataset": event.source,
            "ingested": ingested.isoformat(),
        },
        "user": {"id": user.user_id, "email": user.email, "name": user.name},
        "auth0": {
            "tenant": event.tenant,
            "client_id": context.client_id,
            "client_name": context.client_name,
            "connection": context.connection,
            "connection_strategy": context.connection_strategy,
        },
        "data": event.data,
    }
    source: dict[str, Any] = {"ip": context.ip}
    if geo is not None:
        source["geo"] = {"country_iso_code": geo.country_code, "city_name": geo.city}
        if geo.lat is not None and geo.lon is not None:
            source["geo"]["location"] = {"lat": geo.lat, "lon": geo.lon}
    document["source"] = source
    if context.user_agent:
        document["user_agent"] = {"original": context.user_agent}
    return document


def builds_no_profile(event: Event) -> bool:
    """An event that is history only: a publisher says so with ``data.builds_profile: false``
    (the Log Stream mapping does, for records that are not about a customer's own account)."""
    return event.data.get("builds_profile") is False


def _item_reason(item: dict[str, Any]) -> str:
    error = item.get("error") or {}
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" ({cause.get('type')}: {cause.get('reason')})"
        return f"Elasticsearch rejected the document: {reason}"
    return f"Elasticsearch rejected the document: {error}"


class IndexStage:
    name = "index"

    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Settings,
        taxonomy: Taxonomy,
        rules: Sequence[Rule] = (),
        erasure_queues: Sequence[str] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.es = es
        self.settings = settings
        self.names = Names(settings.name_prefix)
        self.taxonomy = taxonomy
        self.rules = tuple(rules)
        self.erasure_queues = tuple(erasure_queues)
        self.clock = clock
        self.visitors = Visitors(es, self.names)
        self.written = WrittenProfiles(settings.profile_cache, self.name)
        metrics.start_bulk(self.name)

    async def handle(self, events: list[Event]) -> Handled:
        outcomes: list[Outcome] = [DONE] * len(events)
        self._emits: list[Emit] = []
        self._erasures: list[tuple[Profile | None, Event]] = []
        # user -> (backing index, id) of the event docs this batch created
        self._created: dict[str, list[tuple[str, str]]] = defaultdict(list)
        # user -> the profile document as read: what a write is compared with (changed fields)
        self._stored: dict[str, dict[str, Any]] = {}
        # user -> the new profile's document as JSON, dumped once, after its outbox is recorded
        self._documents: dict[str, bytes] = {}
        with elasticsearch_errors(self.settings):
            events = await self.visitors.resolve(events)  # identified visitors → their users
        by_user: dict[str, list[int]] = defaultdict(list)
        for position, event in enumerate(events):
            if (problem := finding_problem(event)) is not None:
                outcomes[position] = park(problem)  # alone: its user's other events go on
                continue
            by_user[event.user.user_id].append(position)
        await self._write(events, dict(by_user), outcomes)
        await self._hold_visitors(events, outcomes)
        with elasticsearch_errors(self.settings):
            for before, erase in self._erasures:
                await self._erase(before, erase)
        return Handled(outcomes, self._emits)

    async def _write(
        self, events: list[Event], users: dict[str, list[int]], outcomes: list[Outcome]
    ) -> None:
        """Write these users' events, narrowing a whole-request refusal to what caused it."""
        try:
            pending = users
            for _ in range(CONFLICT_ROUNDS):
                if not pending:
                    break
                with elasticsearch_errors(self.settings):
                    pending = await self._index_users(events, pending, outcomes)
            for positions in pending.values():  # still conflicting: let the retry queue sort it out
                for position in positions:
                    outcomes[position] = retry("profile kept changing under us (write conflicts)")
        except DocumentRejected as exc:
            if len(users) > 1:
                ids = list(users)
                for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
                    await self._write(events, {u: users[u] for u in half}, outcomes)
                return
            [(user_id, positions)] = users.items()
            if len(positions) > 1:
                for position in positions:
                    await self._write(events, {user_id: [position]}, outcomes)
                return
            outcomes[positions[0]] = park(f"Elasticsearch refused the event: {exc}")
        except _Hold as hold:
            raise ElasticsearchUnavailable(str(hold)) from None

    async def _hold_visitors(self, events: list[Event], outcomes: list[Outcome]) -> None:
        """Events of visitors nobody has claimed yet wait in their records (``stages.visitors``);
        those whose visitor was identified meanwhile are folded into the user now."""
        waiting = [
            (position, event)
            for position, event in enumerate(events)
            if visitor_of(event.user.user_id) is not None
            and outcomes[position].kind == "done"
            and not builds_no_profile(event)
        ]
        if not waiting:
            return
        with elasticsearch_errors(self.settings):
            back, unsettled = await self.visitors.hold(waiting)
        for position in unsettled:
            outcomes[position] = retry("the visitor's record kept changing under us")
        if back:
            identified = list(events)
            users: dict[str, list[int]] = defaultdict(list)
            for position, event in back:
                identified[position] = event
                users[event.user.user_id].append(position)
            await self._write(identified, dict(users), outcomes)

    async def _current(self, user_ids: list[str]) -> dict[str, tuple[Profile | None, int, int]]:
        """Each user's profile with what its write is conditional on: kept from this process's
        last write of it (``stages.written_profiles``), else read."""
        current: dict[str, tuple[Profile | None, int, int]] = {}
        index = await self._users_index() if self.written.holds_any(user_ids) else None
        kept, user_ids = self.written.recall(user_ids, index)
        for user_id, recalled in kept.items():
            if recalled.stored is not None:
                self._stored[user_id] = recalled.stored
            current[user_id] = (recalled.profile, recalled.seq_no, recalled.primary_term)
        if not user_ids:
            return current
        found = await self.es.mget(index=self.names.users_alias, ids=user_ids)
        for doc in found["docs"]:
            if doc.get("found"):
                self._stored[doc["_id"]] = doc["_source"]
                current[doc["_id"]] = (
                    Profile.model_validate(doc["_source"]),
                    doc["_seq_no"],
                    doc["_primary_term"],
                )
            elif "error" in doc:
                raise RuntimeError(f"profile read failed: {doc['error']}")
            else:
                current[doc["_id"]] = (None, 0, 0)
        return current

    async def _users_index(self) -> str | None:
        """The index the users alias points at now (profiles kept were written to one)."""
        found = await self.es.indices.get_alias(name=self.names.users_alias)
        return next(iter(found), None) if len(found) == 1 else None

    def _after_erasure(
        self, profile: Profile, batch: list[Event], now: datetime
    ) -> tuple[Profile | None, list[Event]]:
        """A tombstone stops late events; a signup after the erasure starts a new profile."""
        assert profile.deleted_at is not None
        fresh = [e for e in batch if e.occurred_at > profile.deleted_at]
        if not any(e.type == "auth.signup" for e in fresh):
            metrics.DROPPED.labels(self.name, "erased").inc(len(batch))
            return None, []
        metrics.DROPPED.labels(self.name, "erased").inc(len(batch) - len(fresh))
        new_profile, applied = fold(None, fresh, self.taxonomy, now)
        if applied:
            self._derive(None, new_profile, applied[-1], now)
        return new_profile, fresh

    async def _index_users(
        self, events: list[Event], users: dict[str, list[int]], outcomes: list[Outcome]
    ) -> dict[str, list[int]]:
        """One read + one bulk for these users; returns the users whose profile write conflicted."""
        now = self.clock()
        self._stored, self._documents = {}, {}  # this round's reads and dumps only
        current = await self._current(list(users))
        # Actions and documents; a profile document is JSON already (the client sends bytes as
        # they are), hence Any.
        operations: list[Any] = []
        owners: list[tuple[str, str, list[int]]] = []  # (kind, user_id, positions) per bulk item
        written: dict[str, tuple[Profile | None, list[Event]]] = {}
        # user -> (profile before, profile written, its JSON): kept once the write succeeds
        profiles: dict[str, tuple[Profile | None, Profile, bytes]] = {}
        erasing: dict[str, Event] = {}
        # History-only events, and those of visitors nobody has claimed yet (they are held by
        # ``_hold_visitors``), are stored like the others but folded into no profile.
        batches = {
            user_id: [events[p] for p in positions if not builds_no_profile(events[p])]
            for user_id, positions in users.items()
            if visitor_of(user_id) is None
        }
        await self.visitors.read_claims(batches)
        merging: set[str] = set()  # users whose claimed visitors are confirmed after the write
        for user_id, positions in users.items():
            profile, seq_no, primary_term = current[user_id]
            batch = batches.get(user_id, [])
            new_profile: Profile | None
            if profile is not None and profile.deleted_at is not None:
                new_profile, fresh = self._after_erasure(profile, batch, now)
                keep = {e.event_id for e in fresh}
                to_store = [p for p in positions if events[p].event_id in keep]
                # A second worker's batch may have written event docs of ours before the
                # tombstone: they go too.
                for index, event_id in self._created.pop(user_id, []):
                    # By backing index: a data stream takes no delete by id.
                    operations.append({"delete": {"_index": index, "_id": event_id}})
                    owners.append(("cleanup", user_id, []))
            elif (erase := next((e for e in batch if e.type == "user.deleted"), None)) is not None:
                applied = (profile.applied_events if profile else []) + [
                    event_fingerprint(e.event_id) for e in batch
                ]
                new_profile = tombstone(user_id, erase.occurred_at, applied)
                to_store = []
                erasing[user_id] = erase
            elif not batch:
                new_profile, to_store = None, positions
            else:
                # A visitor this user's events claim: their held behaviour counts here, once.
                batch = batch + self.visitors.merging(user_id, profile)
                merging.add(user_id)
                new_profile, applied_events = fold(profile, batch, self.taxonomy, now)
                if applied_events:
                    note_merged(new_profile, self.visitors.claimed(user_id))
                    self._derive(profile, new_profile, applied_events[-1], now)
                else:
                    new_profile = None  # nothing new for this profile (redelivery)
                to_store = positions
            # Published once the bulk says this user's writes are durable (below).
            written[user_id] = (new_profile or profile, batch)
            for position in to_store:
                event = events[position]
                operations += [
                    {"create": {"_index": self.names.events_stream, "_id": event.event_id}},
                    event_document(event, now),
                ]
                owners.append(("event", user_id, [position]))
            if new_profile is not None:
                document = self._documents.pop(user_id, None) or new_profile.document_json()
                action: dict[str, Any] = {"_index": self.names.users_alias, "_id": user_id}
                if profile is None:
                    operations.append({"create": action})
                else:
                    operations.append(
                        {"index": action | {"if_seq_no": seq_no, "if_primary_term": primary_term}}
                    )
                operations.append(document)
                owners.append(("profile", user_id, positions))
                profiles[user_id] = (profile, new_profile, document)
        if not operations:
            self._collect_emits(written, set())
            return {}
        # Only each item's status and error: the full answer costs more to parse than to send.
        sent = time.perf_counter()
        response = await self.es.bulk(
            operations=operations,
            filter_path="items.*.status,items.*._index,items.*._id,items.*.error,"
            "items.*._seq_no,items.*._primary_term",
        )
        metrics.BULK_SECONDS.labels(self.name).observe(time.perf_counter() - sent)
        conflicted: dict[str, list[int]] = {}
        held: list[str] = []
        for (kind, user_id, positions), entry in zip(owners, response["items"], strict=True):
            item = next(iter(entry.values()))
            status = item["status"]
            if status < 300:
                if kind == "event":
                    self._created[user_id].append((item["_index"], item["_id"]))
                elif kind == "profile":
                    self.written.keep(
                        user_id,
                        profiles[user_id],
                        item["_index"],
                        item["_seq_no"],
                        item["_primary_term"],
                    )
                    if user_id in erasing:
                        self._erasures.append((current[user_id][0], erasing[user_id]))
                continue
            if kind == "profile":
                self.written.drop(user_id)  # not written: what is stored is not known here
            if kind == "cleanup":
                continue  # not there (404): nothing to clean
            if kind == "event" and status == 409:
                metrics.DUPLICATES.labels(self.name).inc()
                continue
            if kind == "profile" and status == 409:
                conflicted[user_id] = positions
                reason = "conflict"
            elif _holds(item):
                held.append(_item_reason(item))
                reason = "overloaded" if status == 429 else "unavailable"
            elif status in (401, 403):
                raise ConfigurationError(
                    f"Elasticsearch refused to write ({status}): {_item_reason(item)}; "
                    "check the privileges of authstream's user or API key"
                )
            else:
                for position in positions:
                    outcomes[position] = park(_item_reason(item))
                reason = "rejected"
            metrics.BULK_ITEM_FAILURES.labels(self.name, reason).inc()
        if held:
            raise _Hold(f"Elasticsearch cannot take writes now ({len(held)} refused): {held[0]}")
        failed = {u for u, ps in users.items() if any(outcomes[p].kind != "done" for p in ps)}
        for user_id in sorted(merging - failed - set(conflicted)):
            if not await self.visitors.confirm(user_id):  # a visitor's record changed: go again
                conflicted[user_id] = users[user_id]
        self._collect_emits(written, failed | set(conflicted))
        return conflicted

    def _derive(self, before: Profile | None, after: Profile, cause: Event, now: datetime) -> None:
        """What this write derives for the other stages, kept in ``after``'s outbox. The fields
        that changed are found without dumping ``after`` (``changed_since``), and the new
        document is dumped once, as JSON, when its outbox is complete."""
        if before is None:
            changed = set_fields(after)
        else:
            changed = changed_since(before, after, self._stored.get(after.user_id))
        change = Change(before, after, cause, changed, now)
        derived = [event for rule in self.rules for event in rule(change, self.settings)]
        record(after, derived)
        self._documents[after.user_id] = after.document_json()

    def _collect_emits(
        self, written: dict[str, tuple[Profile | None, list[Event]]], skip: set[str]
    ) -> None:
        """The derived events of every user whose writes are durable (or were already)."""
        for user_id, (profile, batch) in written.items():
            if profile is not None and user_id not in skip:
                self._emits += to_publish(profile, batch, self.names.derived_exchange)

    async def _erase(self, before: Profile | None, erase: Event) -> None:
        """Everything else of an erased user: events, cached enrichment, queued copies, audit."""
        self.written.drop(erase.user.user_id)  # erasing writes the tombstone again
        emails = [e for e in (before.email if before else None, erase.user.email) if e]
        erased = await erase_everywhere(
            self.es,
            self.settings,
            erase.user.user_id,
            emails,
            self.erasure_queues,
            f"{erase.type} {erase.event_id}",
            self.clock(),
            before is not None,
        )
        log.info("user erased", **{k: v for k, v in vars(erased).items() if k != "user_id"})


def _holds(item: dict[str, Any]) -> bool:
    """Overload, an unavailable shard, or a block (disk full): the batch waits, nothing parks."""
    error = item.get("error")
    blocked = isinstance(error, dict) and error.get("type") == "cluster_block_exception"
    return blocked or is_retryable_status(int(item["status"]))
