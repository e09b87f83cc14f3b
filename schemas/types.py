"""Tolerant scalar types shared by the models: what real Auth0 tenants send, not what we wish."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

# Elasticsearch refuses a document whose _id is longer than 512 bytes, and refuses the whole bulk
# request with it: a limit in characters is not enough for ids in other scripts.
MAX_ID_BYTES = 512
# An event id is also every message's AMQP message_id (⚑ message_id=event_id), a "short string" of
# at most 255 bytes: a longer one passed validation and then could never be published.
MAX_EVENT_ID_BYTES = 255
# What an event's time may be: not before authstream's data could exist, not in the future beyond
# clock skew. One event dated 9999 would otherwise freeze a profile's last_seen for good.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


def _blank_to_none(value: Any) -> Any:
    # Auth0 rules and older SDKs sometimes send "" for an unknown date or number.
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_utc(value: datetime) -> datetime:
    # RFC 3339 requires an offset, but hand-written publishers forget it: read naive times as UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plausible(value: datetime) -> datetime:
    latest = datetime.now(UTC) + CLOCK_SKEW
    if not EARLIEST <= value <= latest:
        raise ValueError(
            f"implausible time {value.isoformat()}: expected between 2000-01-01 and "
            "one day from now"
        )
    return value


def _at_most(limit: int, why: str) -> Callable[[str], str]:
    def fits(value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > limit:
            raise ValueError(f"is {size:,} bytes in UTF-8; at most {limit} ({why})")
        return value

    return fits


Timestamp = Annotated[
    datetime,
    BeforeValidator(_blank_to_none),
    AfterValidator(_as_utc),
    AfterValidator(_plausible),
    Field(description="RFC 3339; between 2000-01-01 and one day from now."),
]
"""An instant, with or without milliseconds, normalised to UTC, and plausible."""

DocumentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID_BYTES,
        description=f"At most {MAX_ID_BYTES} bytes in UTF-8 (Elasticsearch's _id limit).",
        json_schema_extra={"x-max-utf8-bytes": MAX_ID_BYTES},
    ),
    AfterValidator(_at_most(MAX_ID_BYTES, "Elasticsearch's _id limit")),
]
"""An identifier that becomes an Elasticsearch ``_id`` (user ids)."""

EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_EVENT_ID_BYTES,
        description=f"At most {MAX_EVENT_ID_BYTES} bytes in UTF-8: it travels as the AMQP "
        "message_id, and becomes an Elasticsearch _id.",
        json_schema_extra={"x-max-utf8-bytes": MAX_EVENT_ID_BYTES},
    ),
    AfterValidator(_at_most(MAX_EVENT_ID_BYTES, "AMQP's message_id limit")),
]
"""An event id: the idempotency key, the AMQP ``message_id`` and the event document's ``_id``."""

OptionalTimestamp = Annotated[Timestamp | None, BeforeValidator(_blank_to_none)]
OptionalInt = Annotated[
    int | None,
    BeforeValidator(_blank_to_none),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": r"^\s*-?\d*\s*$"},
                {"type": "null"},
            ]
        }
    ),
]
"""Also accepts numbers sent as strings ("33"), as FullContact v2 and some rules do."""

LooseString = Annotated[
    str | None,
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}),
]
"""A string that some IdPs send as a number (e.g. numeric identity ids); stored as a string."""
