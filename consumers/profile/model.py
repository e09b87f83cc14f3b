"""The user profile document as stored in Elasticsearch (``authstream-users``)."""

import hashlib
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

APPLIED_EVENTS_KEPT = 128


def event_fingerprint(event_id: str) -> str:
    """Short, fixed-size stand-in for an event id in ``applied_events``."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


class Block(BaseModel):
    """An enrichment result, replaced as a whole when a newer one arrives."""

    model_config = ConfigDict(extra="allow")
    status: str = "ok"
    updated_at: datetime


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
    marketing_consent: str = "unknown"
    first_seen: datetime | None = None
    signed_up_at: datetime | None = None
    last_login: datetime | None = None
    last_seen: datetime | None = None
    last_failed_login: datetime | None = None
    logins_count: int | None = None
    returned: bool = False
    counters: dict[str, int] = Field(default_factory=dict)
    identity_updated_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    fullcontact: Block | None = None
    sentiment: Block | None = None
    auth0: dict[str, Any] = Field(default_factory=dict)
    last_geo: dict[str, Any] | None = None
    seen_interests: dict[str, list[str]] = Field(default_factory=dict)
    applied_events: list[str] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
