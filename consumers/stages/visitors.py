"""The index stage's part for anonymous visitors: their records in ``authstream-visitors``.

Three moments of a batch (the rules are in ``consumers.profile.visitors``):

1. ``resolve``: events of identified visitors are filed under their user (a held-and-merged one
   stays the visitor's: it folds nothing again).
2. While the users' profiles are folded: ``read_claims`` reads the records of the visitors a
   user's events claim, ``merging`` gives the held events to fold with them, and after the
   profile write is durable, ``confirm`` marks the records identified. A record that changed
   meanwhile (a new held event) makes the user's write go round again, like a profile conflict.
3. ``hold``: events of visitors nobody claimed yet are held in their records. A record that got
   identified meanwhile hands its events back, filed under the user, to be folded now.

Every write is conditional on the version read (or a create), so two workers never lose each
other's update. Reads are by id (realtime), so a record written a moment ago is seen.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch

from consumers.core.errors import ConfigurationError
from consumers.core.names import Names
from consumers.profile.anonymous import claimed_visitors, visitor_of
from consumers.profile.model import Profile
from consumers.profile.visitors import VisitorRecord
from schemas import Event

CONFLICT_ROUNDS = 10
log = structlog.get_logger("authstream.index")


@dataclass
class Stored:
    record: VisitorRecord
    versions: dict[str, int]  # if_seq_no / if_primary_term; empty: not stored yet (create)


def rekeyed(event: Event, user_id: str) -> Event:
    return event.model_copy(update={"user": event.user.model_copy(update={"user_id": user_id})})


class Visitors:
    def __init__(self, es: AsyncElasticsearch, names: Names) -> None:
        self.es = es
        # Made once: each es.options() builds a client, ~40 sub-clients in reference cycles.
        self.conflict_ok = es.options(ignore_status=409)
        self.index = names.visitors_index
        self.claims: dict[str, list[tuple[Stored, Event]]] = {}  # user -> claimed records

    async def read(self, anonymous_ids: Iterable[str]) -> dict[str, Stored]:
        ids = sorted(set(anonymous_ids))
        if not ids:
            return {}
        found = await self.es.mget(index=self.index, ids=ids)
        stored: dict[str, Stored] = {}
        for doc in found["docs"]:
            if doc.get("found"):
                versions = {"if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]}
                stored[doc["_id"]] = Stored(VisitorRecord.model_validate(doc["_source"]), versions)
            elif "error" in doc:
                if "index_not_found" in str(doc["error"]):
                    raise ConfigurationError(
                        f"the index {self.index} does not exist: run `authstream setup`"
                    )
                raise RuntimeError(f"visitor read failed: {doc['error']}")
            else:
                stored[doc["_id"]] = Stored(VisitorRecord(anonymous_id=doc["_id"]), {})
        return stored

    async def write(self, stored: Stored) -> bool:
        """False when someone wrote the record since it was read."""
        options: dict[str, Any] = stored.versions or {"op_type": "create"}
        answer = await self.conflict_ok.index(
            index=self.index, id=stored.record.anonymous_id, document=stored.record.document(),
            **options,
        )  # fmt: skip
        return answer.meta.status != 409

    async def resolve(self, events: list[Event]) -> list[Event]:
        """Events of identified visitors, filed under their user (same positions)."""
        stored = await self.read(a for e in events if (a := visitor_of(e.user.user_id)))
        resolved = []
        for event in events:
            found = stored.get(visitor_of(event.user.user_id) or "")
            user = found.record.user_id if found else None
            if user is not None and found is not None and not found.record.has_seen(event):
                resolved.append(rekeyed(event, user))
            else:
                resolved.append(event)
        return resolved

    async def read_claims(self, batches: dict[str, list[Event]]) -> None:
        """The records of the visitors each user's events claim (for ``merging``/``confirm``)."""
        wanted: dict[str, dict[str, Event]] = {}  # user -> visitor -> the earliest claim
        for user_id, batch in batches.items():
            for event in sorted(batch, key=lambda e: (e.occurred_at, e.event_id), reverse=True):
                for anonymous_id in claimed_visitors(event):
                    wanted.setdefault(user_id, {})[anonymous_id] = event
        stored = await self.read(a for claims in wanted.values() for a in claims)
        self.claims = defaultdict(list)
        for user_id, claims in wanted.items():
            for anonymous_id, event in sorted(claims.items()):
                found = stored[anonymous_id]
                if found.record.user_id in (None, user_id):
                    self.claims[user_id].append((found, event))
                else:
                    log.info("visitor already identified as another user", user_id=user_id)

    def merging(self, user_id: str, profile: Profile | None) -> list[Event]:
        """The claimed visitors' held events this user's profile has not folded yet."""
        return [
            e for s, _ in self.claims.get(user_id, []) for e in s.record.to_merge(user_id, profile)
        ]

    def claimed(self, user_id: str) -> list[VisitorRecord]:
        return [stored.record for stored, _ in self.claims.get(user_id, [])]

    async def confirm(self, user_id: str) -> bool:
        """Mark this user's claimed visitors identified; False if one changed since it was read."""
        for stored, event in self.claims.pop(user_id, []):
            record = stored.record
            if record.user_id == user_id and record.merged_through == record.next_seq - 1:
                continue  # nothing new since the last merge
            record.identify(user_id, event)
            if not await self.write(stored):
                return False
        return True

    async def hold(
        self, events: list[tuple[int, Event]]
    ) -> tuple[list[tuple[int, Event]], list[int]]:
        """Hold unclaimed visitors' events. Returns those whose visitor got identified meanwhile,
        filed under their user to be folded now, and the positions of events whose record kept
        changing under us (to retry)."""
        by_visitor: dict[str, list[tuple[int, Event]]] = defaultdict(list)
        for position, event in events:
            by_visitor[visitor_of(event.user.user_id) or ""].append((position, event))
        back: list[tuple[int, Event]] = []
        unsettled: list[int] = []
        for anonymous_id, held in by_visitor.items():
            for _ in range(CONFLICT_ROUNDS):
                stored = (await self.read([anonymous_id]))[anonymous_id]
                user = stored.record.user_id
                if user is not None:
                    back += [
                        (p, rekeyed(e, user)) for p, e in held if not stored.record.has_seen(e)
                    ]
                    break
                new = [e for _, e in held if stored.record.hold(e)]
                if not new or await self.write(stored):
                    break
            else:
                unsettled += [position for position, _ in held]
        return back, unsettled
