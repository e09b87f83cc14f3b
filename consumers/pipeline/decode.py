"""The edge where raw bytes become events: parse once, or say in one line why not."""

import re
from typing import Any

from pydantic import ValidationError

from consumers.core.errors import InvalidEvent
from schemas import Event
from schemas.envelope import UNSUPPORTED_SCHEMA

MAX_REASONS = 5
# JSON allows integers of any size, but Elasticsearch (long), orjson and most JSON readers stop at
# 64 bits: such an event would be accepted here and then fail the whole bulk request it is in.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**64 - 1
# Only a number of 19 digits or more can be out of range; in a string ("log_id": "9002...") the
# digits follow a quote, so ordinary events never pay for the closer look.
_MAYBE_HUGE_NUMBER = re.compile(rb"[:\[,]\s*-?\d{19}")
MAX_PATH_CHARS = 80


def describe_validation_error(exc: ValidationError) -> str:
    """``user.user_id: Field required; occurred_at: ...`` — no input values (they may be PII)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    # An envelope of another contract: what its other fields say is no error of this one.
    unsupported = next((e["msg"] for e in errors if e["type"] == UNSUPPORTED_SCHEMA), None)
    if unsupported is not None:
        return unsupported
    reasons = []
    for error in errors:
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        reasons.append(f"{location}: {message}" if location else message)
    text = "; ".join(reasons[:MAX_REASONS])
    if len(reasons) > MAX_REASONS:
        text += f" (and {len(reasons) - MAX_REASONS} more)"
    return text


def integer_out_of_range(value: Any, path: str = "") -> str | None:
    """The path of the first integer outside 64 bits in a JSON-like value, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return path if not MIN_INTEGER <= value <= MAX_INTEGER else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = integer_out_of_range(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def decode_event(body: bytes, max_bytes: int) -> Event:
    """Validate one message body as an ``authstream.event/1`` envelope."""
    if len(body) > max_bytes:
        raise InvalidEvent(
            f"event is {len(body):,} bytes, over the {max_bytes:,}-byte limit "
            "(AUTHSTREAM_MAX_EVENT_BYTES)",
            body,
        )
    try:
        event = Event.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc), body) from None
    if _MAYBE_HUGE_NUMBER.search(body):
        path = integer_out_of_range(event.model_dump(by_alias=True))
        if path is not None:
            shown = path if len(path) <= MAX_PATH_CHARS else path[: MAX_PATH_CHARS - 1] + "…"
            raise InvalidEvent(
                f"{shown}: integer outside the 64-bit range that Elasticsearch and JSON readers "
                "take (-2^63 to 2^64-1); send it as a string",
                body,
            )
    return event
