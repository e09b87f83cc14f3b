"""The user profile document as stored in Elasticsearch (``authstream-users``).

Only the index stage writes it (design.md: one writer per document kind). Besides the facts that
segments query, it keeps what makes folding exact and explainable: the fingerprints of the last
events folded (``applied_events``, so a redelivery counts nothing twice), where each fact came
from (``provenance``), and the derived events the last writes produced (``outbox``, so that a
crash between the write and their publication loses none of them: a redelivery republishes them).
"""

import hashlib
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from consumers.profile.facts.consent import ConsentState

APPLIED_EVENTS_KEPT = 128
OUTBOX_KEPT = 32
# Distinct behaviour actions counted one by one per profile; the rest are counted as "other", so
# a publisher inventing action names cannot grow a profile without bound.
BEHAVIOR_KINDS_KEPT = 100
OTHER_BEHAVIOR = "other"


def event_fingerprint(event_id: str) -> str:
    """Short, fixed-size stand-in for an event id in ``applied_events``."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


class Block(BaseModel):
    """A stage's finding (an enrichment answer, a sentiment summary), replaced whole when a newer
    one arrives. ``updated_at`` is when the finding was made (the provider was asked)."""

    model_config = ConfigDict(extra="allow")
    status: str = "ok"
    provider: str | None = None
    updated_at: datetime

    def finding(self, key: str) -> Any:
        """A field beyond the fixed ones (``response``, ``label``, ...), or None."""
        return (self.model_extra or {}).get(key)


class Provenance(BaseModel):
    source: str  # auth0, fullcontact, ...
    field: str  # where in the source: user.birthday, details.age.range, ...
    observed_on: date


class ConsentRecord(BaseModel):
    state: ConsentState = "unknown"
    source: str | None = None
    at: datetime | None = None


class BehaviorCount(BaseModel):
    action: str  # the part after "behavior.": cart_item_added, page_viewed, ...
    count: int = 0
    last_at: datetime | None = None


class DerivedEvent(BaseModel):
    """An event the index stage publishes after this profile's write (``profile.changed``, a work
    request for a stage). Kept in the profile until later writes push it out, as the JSON it is
    published as (``message``): kept as an object, every entry was read, validated and written
    again with each write of the profile, and was a third of a kept profile's memory."""

    event_id: str
    type: str
    routing_key: str
    caused_by: str  # fingerprint of the source event it was derived from
    message: str  # the ``authstream.event/1`` envelope, as published
    # Work requests: what was asked ("enrich:fullcontact" → "<email hash>|<when>"), so the next
    # login does not ask again while the first request waits in its queue.
    request_key: str | None = None
    request_value: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _envelope_as_message(cls, data: Any) -> Any:
        """Profiles written before 2026-11-30 kept each envelope as an object (``body``)."""
        if isinstance(data, dict) and isinstance(body := data.get("body"), dict):
            data = {k: v for k, v in data.items() if k != "body"}
            data.setdefault("message", orjson.dumps(body).decode())
            data.setdefault("type", body.get("type", data.get("routing_key")))
        return data

    @property
    def body(self) -> dict[str, Any]:
        """The envelope, parsed (on each use: the stages publish ``message`` as it is)."""
        parsed: dict[str, Any] = orjson.loads(self.message)
        return parsed


class SegmentMembership(BaseModel):
    """A segment the user is in, since when (``segment.entered``, folded by the index stage)."""

    name: str
    entered_at: datetime


class Profile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str
    tenant: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    connection: str | None = None
    connections: list[str] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)
    gender: str | None = None
    birth_date: date | None = None
    birth_date_precision: str | None = None
    interests: list[str] = Field(default_factory=list)
    interest_sources: dict[str, list[str]] = Field(default_factory=dict)
    twitter_handle: str | None = None
    location: dict[str, Any] | None = None
    employment: dict[str, Any] | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    marketing_consent: ConsentState = "unknown"  # the state of ``consent``, for queries
    consent: ConsentRecord = Field(default_factory=ConsentRecord)
    first_seen: datetime | None = None
    signed_up_at: datetime | None = None
    last_login: datetime | None = None
    last_seen: datetime | None = None
    last_failed_login: datetime | None = None
    logins_count: int | None = None
    returned: bool = False
    counters: dict[str, int] = Field(default_factory=dict)  # signups, logins, ... (fixed names)
    behaviors: list[BehaviorCount] = Field(default_factory=list)
    identity_updated_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    enrichment: dict[str, Block] = Field(default_factory=dict)  # provider -> latest answer
    sentiment: Block | None = None
    auth0: dict[str, Any] = Field(default_factory=dict)  # the merged Auth0 profile snapshot
    auth0_stamps: dict[str, str] = Field(default_factory=dict)  # key -> "time|event id" it has
    last_geo: dict[str, Any] | None = None
    seen_interests: dict[str, list[str]] = Field(default_factory=dict)
    search: str | None = None  # folded words `authstream search` matches (profile.searchable)
    # Segments: the ones the user is in (for queries), and per segment the number of the last
    # entry or exit folded (odd: in), which orders them and names the next one.
    segments: list[SegmentMembership] = Field(default_factory=list)
    segment_transitions: dict[str, int] = Field(default_factory=dict)
    # Anonymous ids this user was identified as -> the last of their held events folded here
    # (consumers.profile.visitors): what makes a visitor's behaviour count once.
    visitors: dict[str, int] = Field(default_factory=dict)
    requested: dict[str, str] = Field(default_factory=dict)  # request key -> what and when
    version: int = 0
    applied_events: list[str] = Field(default_factory=list)
    outbox: list[DerivedEvent] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def document_json(self) -> bytes:
        """``document()`` as the JSON the index stage writes, without the dict in between
        (half the cost: the stage dumped a dict, then serialised it)."""
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)
