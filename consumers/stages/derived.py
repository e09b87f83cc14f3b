"""Derived events: what the index stage publishes after a profile write, for the other stages.

``profile.changed`` tells the segments stage which fields of which profile changed; work requests
(``enrich.requested``, ...) tell a stage it has something to do. Each is an ``authstream.event/1``
envelope whose ``event_id`` is derived from the event that caused it, so a redelivered batch
publishes the same ids again and every consumer can recognise what it has already seen. They are
kept in the profile's ``outbox`` by the same write that made them, which is what lets a
redelivery republish them after a crash between the write and their publication.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from consumers.core.settings import Settings
from consumers.pipeline.outcome import Emit
from consumers.profile.model import (
    OUTBOX_KEPT,
    DerivedEvent,
    Profile,
    event_fingerprint,
)
from schemas import SCHEMA_ID, Event

NAMESPACE = uuid.UUID("0b9e4c1e-5d0c-4b55-8d1f-7a3c2e1d0f42")
# Bookkeeping that changes with every write and tells a stage nothing about the user.
NOT_A_CHANGE = frozenset(
    {"applied_events", "outbox", "updated_at", "version", "auth0_stamps", "seen_interests"}
)


def derived_id(cause_event_id: str, kind: str) -> str:
    """The same cause and kind give the same id, in every process and on every redelivery."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{cause_event_id}"))


def derived_event(
    kind: str,
    cause: Event,
    user_id: str,
    data: dict[str, Any],
    routing_key: str | None = None,
    request: tuple[str, str] | None = None,
) -> DerivedEvent:
    event_id = derived_id(cause.event_id, kind)
    body = {
        "schema": SCHEMA_ID,
        "event_id": event_id,
        "type": kind,
        "occurred_at": cause.occurred_at.isoformat(),
        "source": "authstream",
        "tenant": cause.tenant,
        "user": {"user_id": user_id},
        "data": data,
    }
    return DerivedEvent(
        event_id=event_id,
        type=kind,
        routing_key=routing_key or kind,
        caused_by=event_fingerprint(cause.event_id),
        message=orjson.dumps(body).decode(),
        request_key=request[0] if request else None,
        request_value=request[1] if request else None,
    )


def changed_fields(before: Profile | None, after: Profile) -> list[str]:
    return changed_between(before.document() if before else {}, after.document())


def changed_between(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields that differ between two profile documents, bookkeeping aside."""
    return sorted(
        k for k in old.keys() | new.keys() if k not in NOT_A_CHANGE and old.get(k) != new.get(k)
    )


# Fields whose values may hold what JSON writes otherwise: a finding's data in a block (a NaN is
# written null, an extra set to None is dropped) or facts read from it (a NaN). The other fields
# hold JSON values (the Auth0 snapshot is merged from a JSON dump of the event) or typed values in
# UTC, whose Python equality is that of their JSON.
IN_JSON = frozenset({"enrichment", "sentiment", "location", "employment"})
# A block's time keeps the offset its finding gave: the same instant written another way is equal
# in Python and not in JSON, so blocks are compared in JSON whenever there are any.
_ALWAYS_IN_JSON = ("enrichment", "sentiment")
_FIELDS = tuple(k for k in Profile.model_fields if k not in NOT_A_CHANGE)


def changed_since(before: Profile, after: Profile, stored: dict[str, Any] | None) -> list[str]:
    """``changed_between(before.document(), after.document())`` without dumping either (dumping
    the new profile to a dict for the comparison, then serialising it for the write, was a tenth
    of the index stage's CPU): the fields are compared as Python values, and those that may hold
    what JSON writes otherwise in JSON. ``stored`` is ``before``'s document as read, if it was
    read (None: only the fields compared in JSON are dumped)."""
    old, new = before.__dict__, after.__dict__
    changed = [k for k in _FIELDS if old[k] != new[k]]
    confirm = {k for k in changed if k in IN_JSON} | {k for k in _ALWAYS_IN_JSON if new[k]}
    if not confirm:
        return sorted(changed)
    if stored is None:
        stored = before.model_dump(mode="json", include=confirm, exclude_none=True)
    dumped = after.model_dump(mode="json", include=confirm, exclude_none=True)
    return sorted(
        {k for k in changed if k not in confirm}
        | {k for k in confirm if stored.get(k) != dumped.get(k)}
    )


def set_fields(profile: Profile) -> list[str]:
    """``changed_between({}, profile.document())``: a new profile's fields that have a value."""
    return sorted(k for k in _FIELDS if getattr(profile, k) is not None)


@dataclass(frozen=True)
class Change:
    """One profile write, as the rules see it."""

    before: Profile | None
    after: Profile
    cause: Event  # the last event folded into this write (the others are in applied_events)
    changed: list[str]
    now: datetime


Rule = Callable[[Change, Settings], list[DerivedEvent]]
"""What one stage wants to hear about a profile write (registered in ``stages.catalog``)."""


def profile_changed(change: Change, settings: Settings) -> list[DerivedEvent]:
    if not change.changed:
        return []
    data = {"changed": change.changed, "version": change.after.version}
    return [derived_event("profile.changed", change.cause, change.after.user_id, data)]


def record(after: Profile, derived: list[DerivedEvent]) -> None:
    """Keep what this write derives in the profile, so a redelivery can republish it."""
    if not derived:
        return
    after.outbox = (after.outbox + derived)[-OUTBOX_KEPT:]
    # A new dict, not the old one changed in place: the fold's copy shares it with the profile
    # before this write, which may be kept (``stages.written_profiles``) and must not change.
    after.requested = after.requested | {
        e.request_key: e.request_value for e in derived if e.request_key and e.request_value
    }


def to_publish(profile: Profile, causes: list[Event], exchange: str) -> list[Emit]:
    """The derived events these source events caused, from the profile's outbox."""
    fingerprints = {event_fingerprint(e.event_id) for e in causes}
    return [
        Emit(
            exchange=exchange,
            routing_key=d.routing_key,
            body=d.message.encode(),
            message_id=d.event_id,
            type=d.type,
        )
        for d in profile.outbox
        if d.caused_by in fingerprints
    ]
