"""How a message is sent to a delayed retry queue or to the parking lot, and read back.

The original body and headers are kept; authstream adds its own ``x-authstream-*`` headers: the
attempts so far, the last error, the stage, the original routing key and when it failed.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pika.spec import BasicProperties

ATTEMPTS = "x-authstream-attempts"
ERROR = "x-authstream-error"
STAGE = "x-authstream-stage"
ROUTING_KEY = "x-authstream-routing-key"
FAILED_AT = "x-authstream-failed-at"
MAX_REASON_CHARS = 2_000
# What the broker adds when it dead-letters a message; a republished copy starts without them.
BROKER_DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-delivery-count",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    }
)


class WithHeaders(Protocol):
    """Message properties from any client (pika's worker path, aio-pika's parking-lot tools)."""

    @property
    def headers(self) -> Mapping[str, Any] | None: ...


def attempts_of(properties: WithHeaders) -> int:
    value = (properties.headers or {}).get(ATTEMPTS, 0)
    return value if isinstance(value, int) else 0


def original_routing_key(properties: WithHeaders, delivered_with: str) -> str:
    value = (properties.headers or {}).get(ROUTING_KEY)
    return value if isinstance(value, str) else delivered_with


def with_failure(
    properties: BasicProperties, *, stage: str, reason: str, attempts: int, routing_key: str
) -> BasicProperties:
    """A copy of the properties carrying the failure, ready to republish."""
    headers: dict[str, Any] = {
        k: v for k, v in (properties.headers or {}).items() if k not in BROKER_DEATH_HEADERS
    }
    headers |= {
        ATTEMPTS: attempts,
        ERROR: reason[:MAX_REASON_CHARS],
        STAGE: stage,
        ROUTING_KEY: routing_key,
        FAILED_AT: datetime.now(UTC).isoformat(),
    }
    return BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=2,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
    )


@dataclass(frozen=True)
class ParkedInfo:
    reason: str
    attempts: int
    routing_key: str
    failed_at: str


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _broker_death(headers: Mapping[str, Any]) -> dict[str, Any] | None:
    deaths = headers.get("x-death")
    first = deaths[0] if isinstance(deaths, list) and deaths else None
    return first if isinstance(first, dict) else None


def parked_info(
    properties: WithHeaders, delivered_with: str, delivery_limit: int | None = None
) -> ParkedInfo:
    """Why a parked message is there. The worker's copies say so in ``x-authstream-*`` headers;
    a message the broker parked itself has only ``x-death``: its delivery limit
    (``delivery_limit``, the setting it was declared with) is said in words."""
    headers = properties.headers or {}
    reason, attempts = headers.get(ERROR), attempts_of(properties)
    failed_at = str(headers.get(FAILED_AT, ""))
    if not isinstance(reason, str):
        death = _broker_death(headers) or {}
        why = death.get("reason")
        if isinstance(death.get("time"), datetime):
            failed_at = death["time"].isoformat()
        if why == "delivery_limit":
            limit = f" ({delivery_limit})" if delivery_limit is not None else ""
            reason = (
                f"redelivered more than AUTHSTREAM_DELIVERY_LIMIT{limit} times without an ack: "
                "a consumer died or timed out on it each time"
            )
            attempts = attempts or (delivery_limit + 1 if delivery_limit is not None else 0)
        else:
            reason = f"dead-lettered by the broker ({why!s})" if why else "unknown"
    return ParkedInfo(
        reason=reason,
        attempts=attempts or _int(headers.get("x-delivery-count")),
        routing_key=original_routing_key(properties, delivered_with),
        failed_at=failed_at,
    )
