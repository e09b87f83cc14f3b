"""Tolerant scalar types shared by the models: what real Auth0 tenants send, not what we wish."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema


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


Timestamp = Annotated[datetime, BeforeValidator(_blank_to_none), AfterValidator(_as_utc)]
"""An instant, with or without milliseconds, normalised to UTC."""

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
