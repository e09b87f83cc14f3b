"""Real-time membership: which segments a profile qualifies for now, and the entries and exits
that follow from what the profile says it is in.

Each segment's entries and exits for a user are numbered (1st entry, 1st exit = 2, 2nd entry =
3, ...): odd numbers enter. The number of the next one comes from the profile
(``segment_transitions``), so the announcement of "the 3rd entry of user U into segment S" has
one ``event_id`` however many times and by however many workers it is computed: a redelivered
change, a second worker seeing the same profile, or the sweep finding the same difference all
publish the same event, which the index stage and the destinations recognise. An announcement
that raced a later change is corrected by the next evaluation: folding it changes the profile,
and the change is evaluated again.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson

from consumers.pipeline.outcome import Emit
from consumers.profile.model import Profile
from consumers.segments.conditions import floor_to
from consumers.segments.evaluate import Predicate, Thresholds, predicate, view_keys
from consumers.segments.fields import FIELDS
from consumers.segments.segment import Segment
from consumers.segments.view import BEHAVIORS, readers, view_of
from schemas import SCHEMA_ID

NAMESPACE = uuid.UUID("5b0e7d4a-3f8c-4d2a-9e61-0c7f2b8a9d13")


@dataclass(frozen=True)
class Transition:
    user_id: str
    segment: str
    kind: Literal["entered", "left"]
    number: int

    @property
    def event_id(self) -> str:
        return transition_id(self.user_id, self.segment, self.number)


def transition_id(user_id: str, segment: str, number: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"segment:{segment}:{number}:{user_id}"))


class Evaluator:
    """Every segment's condition as a predicate, evaluated for many profiles: each profile's
    values are read once, whatever the number of segments."""

    def __init__(self, segments: Iterable[Segment]) -> None:
        self.conditions = {s.name: s.default_condition for s in segments}
        keys = set().union(*(view_keys(c) for c in self.conditions.values()))
        self.readers = readers(sorted(keys))
        self._hour: datetime | None = None
        self._predicates: list[tuple[str, Predicate]] = []

    @property
    def names(self) -> list[str]:
        return list(self.conditions)

    def predicates(self, now: datetime) -> list[tuple[str, Predicate]]:
        """Thresholds move only at hour boundaries: the predicates are rebuilt once an hour."""
        hour = floor_to(now, "h")
        if hour != self._hour:
            at = Thresholds(now)
            self._predicates = [(n, predicate(c, at)) for n, c in self.conditions.items()]
            self._hour = hour
        return self._predicates

    def qualifying(self, profile: Profile, now: datetime) -> set[str]:
        """The segments ``profile`` belongs in at ``now`` (none for an erased user)."""
        if profile.deleted_at is not None:
            return set()
        view = view_of(profile, self.readers)
        return {name for name, holds in self.predicates(now) if holds(view)}


# What membership itself depends on besides the conditions: the recorded membership (so that an
# announcement that raced a later change is evaluated again once folded) and the erasure.
ALWAYS_READ = frozenset({"segments", "segment_transitions", "deleted_at"})


def profile_fields_read(segments: Iterable[Segment]) -> frozenset[str]:
    """The top-level profile fields whose change can change some segment's membership."""
    found = set(ALWAYS_READ)
    for segment in segments:
        for key in view_keys(segment.default_condition):
            name = key.removesuffix(".words").removesuffix(".keyword")
            found.add(name if name == BEHAVIORS else FIELDS[name].path.split(".")[0])
    return frozenset(found)


def transitions(
    profile: Profile, qualifying: set[str], segments: Iterable[str]
) -> list[Transition]:
    """Entries and exits that bring the profile's membership in line with ``qualifying``.

    Only the segments given are considered: a segment whose file was removed keeps its members
    (a missing directory must not announce that everybody left)."""
    found = []
    for name in segments:
        number = profile.segment_transitions.get(name, 0)
        member = number % 2 == 1
        if (name in qualifying) != member:
            found.append(
                Transition(profile.user_id, name, "left" if member else "entered", number + 1)
            )
    return found


def announcement(profile: Profile, transition: Transition, now: datetime, exchange: str) -> Emit:
    """``segment.entered`` / ``segment.left`` as an ``authstream.event/1`` envelope, routed as
    ``segment.<name>.<kind>``: the index stage folds it, destinations deliver it."""
    kind = f"segment.{transition.kind}"
    user = {"user_id": profile.user_id, "email": profile.email, "name": profile.name}
    body = {
        "schema": SCHEMA_ID,
        "event_id": transition.event_id,
        "type": kind,
        "occurred_at": now.isoformat(),
        "source": "authstream",
        "tenant": profile.tenant,
        "user": {k: v for k, v in user.items() if v is not None},
        "data": {"segment": transition.segment, "transition": transition.number},
    }
    return Emit(
        exchange=exchange,
        routing_key=f"segment.{transition.segment}.{transition.kind}",
        body=orjson.dumps(body),
        message_id=transition.event_id,
        type=kind,
    )
