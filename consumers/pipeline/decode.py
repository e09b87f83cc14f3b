"""The edge where raw bytes become events: parse once, or say in one line why not."""

from pydantic import ValidationError

from consumers.core.errors import InvalidEvent
from schemas import Event

MAX_REASONS = 5


def describe_validation_error(exc: ValidationError) -> str:
    """``user.user_id: Field required; occurred_at: ...`` — no input values (they may be PII)."""
    reasons = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        reasons.append(f"{location}: {message}" if location else message)
    text = "; ".join(reasons[:MAX_REASONS])
    if len(reasons) > MAX_REASONS:
        text += f" (and {len(reasons) - MAX_REASONS} more)"
    return text


def decode_event(body: bytes, max_bytes: int) -> Event:
    """Validate one message body as an ``authstream.event/1`` envelope."""
    if len(body) > max_bytes:
        raise InvalidEvent(
            f"event is {len(body):,} bytes, over the {max_bytes:,}-byte limit "
            "(AUTHSTREAM_MAX_EVENT_BYTES)",
            body,
        )
    try:
        return Event.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc), body) from None
