"""⚑ The event envelope, schema ``authstream.event/1``: one JSON message per event.

Published to the ``authstream.events`` topic exchange with routing key ``type``. ``event_id`` is the
idempotency key (Auth0 ``log_id`` for Log Streams, a UUID elsewhere). Unknown fields are kept.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from schemas.auth0 import Auth0User
from schemas.types import EventId, Timestamp

SCHEMA_ID = "authstream.event/1"
# The error type of an envelope for another contract: its reason names no field (the schema is
# the envelope's as a whole), as it did when this was checked before the fields.
UNSUPPORTED_SCHEMA = "unsupported_schema"

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
KNOWN_SOURCES = (
    "auth0-action",
    "auth0-rule",
    "auth0-log-stream",
    "auth0-sync",
    "app",
    "authstream",
)


class GeoContext(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    country_code: str | None = None
    city: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class EventContext(BaseModel):
    """Where the event happened: request and application details, all optional."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    ip: str | None = None
    user_agent: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    connection: str | None = None
    connection_strategy: str | None = None
    geo: GeoContext | None = None


class Event(BaseModel):
    """One thing that happened to one user. Integers anywhere in it fit in 64 bits (-2^63 to
    2^64-1), as Elasticsearch and most JSON readers need: send larger numbers as strings."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra={"$id": "https://authstream.dev/schemas/authstream.event.1.json"},
    )

    schema_id: Literal["authstream.event/1"] = Field(alias="schema")
    event_id: EventId
    type: str = Field(
        pattern=EVENT_TYPE_PATTERN,
        max_length=128,
        description="auth.signup, auth.login, auth.login_failed, auth.logout, user.deleted, "
        "user.updated, behavior.<action>, profile.enriched, profile.sentiment, auth0.<code>",
    )
    occurred_at: Timestamp = Field(description="When it happened (RFC 3339), not when published.")
    source: str | None = Field(default=None, description="One of: " + ", ".join(KNOWN_SOURCES))
    tenant: str | None = None
    user: Auth0User
    context: EventContext = Field(default_factory=EventContext)
    data: dict[str, Any] = Field(default_factory=dict)

    # A field validator, not a model one: a model validator that runs before validation makes
    # pydantic build the whole envelope as Python objects first (a third of decoding an event).
    @field_validator("schema_id", mode="before")
    @classmethod
    def _known_schema_version(cls, value: Any) -> Any:
        # Say plainly which contract we speak instead of pydantic's generic literal error.
        if value != SCHEMA_ID:
            raise PydanticCustomError(
                UNSUPPORTED_SCHEMA,
                "unsupported schema {shown}: this authstream reads {reads}",
                {"shown": _shortened(value), "reads": repr(SCHEMA_ID)},
            )
        return value


def _shortened(value: Any, limit: int = 40) -> str:
    # The sender's value, so the reason names the contract it meant; never the whole of it (a
    # megabyte there would make a megabyte reason in every log line and parking-lot header).
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
