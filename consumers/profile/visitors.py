"""A visitor's record: who an anonymous id turned out to be, and the behaviour held until then.

One record per anonymous id (``authstream-visitors``, ``_id`` = the anonymous id), written by the
index stage only, with optimistic concurrency; it is what makes "the visitor's behaviour counts
for the user exactly once" hold whatever the order of events and redeliveries:

- Until the visitor is identified, their events are *held* here, each with a sequence number
  (``next_seq`` grows and never goes back). A redelivered event is recognised by its fingerprint
  (``seen``) and held once.
- When a user's event claims the visitor (``user.identified``, a login carrying the id), the index
  stage folds the held events with a sequence number above what the user's profile has already
  folded of this visitor (``Profile.visitors[id]``, written atomically with the counters), then
  marks the record identified. A crash in between is harmless: the profile says how far it got.
- Once identified, the visitor's later events are filed under the user directly; one that was
  held and merged already (its fingerprint is in ``seen``) folds nothing again.

The first user to claim a visitor keeps them (a shared computer: the shop should start a new
anonymous id at logout, as analytics libraries' ``reset()`` does).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from consumers.profile.model import Profile, event_fingerprint
from schemas import Event

HELD_KEPT = 200  # the visitor's latest events before they log in; older ones are only stored
SEEN_KEPT = 1_000  # fingerprints of held events, to recognise redeliveries after the merge
VISITORS_KEPT = 50  # anonymous ids remembered per profile (devices, cleared cookies)


class HeldEvent(BaseModel):
    seq: int
    event: dict[str, Any]  # the envelope, without its user (filled in when merged) and context


class VisitorRecord(BaseModel):
    anonymous_id: str
    user_id: str | None = None
    identified_at: datetime | None = None
    identified_by: str | None = None  # the event that said who the visitor is
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    next_seq: int = 1
    merged_through: int = 0  # held events up to this number are in the user's profile
    pending: list[HeldEvent] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    dropped: int = 0  # held events pushed out by newer ones before the visitor was identified

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def has_seen(self, event: Event) -> bool:
        return event_fingerprint(event.event_id) in self.seen

    def hold(self, event: Event) -> bool:
        """Keep an event of the (not yet identified) visitor; False if it is held already."""
        if self.has_seen(event):
            return False
        body = event.model_dump(mode="json", by_alias=True, exclude={"user", "context"})
        self.pending.append(HeldEvent(seq=self.next_seq, event=body))
        self.next_seq += 1
        if len(self.pending) > HELD_KEPT:
            self.dropped += len(self.pending) - HELD_KEPT
            self.pending = self.pending[-HELD_KEPT:]
        self.seen = [*self.seen, event_fingerprint(event.event_id)][-SEEN_KEPT:]
        at = event.occurred_at
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)
        return True

    def to_merge(self, user_id: str, profile: Profile | None) -> list[Event]:
        """The held events this user's profile has not folded yet, filed under the user."""
        folded = max(
            self.merged_through, (profile.visitors if profile else {}).get(self.anonymous_id, 0)
        )
        return [
            Event.model_validate(held.event | {"user": {"user_id": user_id}})
            for held in self.pending
            if held.seq > folded
        ]

    def identify(self, user_id: str, by: Event) -> None:
        """The visitor is this user, and every held event is in their profile now."""
        self.user_id = user_id
        at = by.occurred_at
        self.identified_at = at if self.identified_at is None else min(self.identified_at, at)
        self.identified_by = self.identified_by or by.event_id
        self.merged_through = self.next_seq - 1
        self.pending = []


def note_merged(profile: Profile, records: list[VisitorRecord]) -> None:
    """Remember, in the profile, how far each claimed visitor's held events are folded."""
    merged = dict(profile.visitors)
    for record in records:
        merged.pop(record.anonymous_id, None)  # re-inserted last: the newest are kept
        merged[record.anonymous_id] = record.next_seq - 1
    profile.visitors = dict(list(merged.items())[-VISITORS_KEPT:])
