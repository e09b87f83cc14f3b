"""What a destination webhook receives, and how it can tell the request came from authstream.

``POST`` with a JSON body (``authstream.webhook/1``)::

    {"schema": "authstream.webhook/1", "event_id": "…", "type": "segment.entered",
     "segment": "preorder-running-men", "transition": 1, "occurred_at": "2026-…Z",
     "tenant": "innovashoes", "user": {"user_id": "…", "email": "…", "name": "…"}}

and these headers:

- ``X-Authstream-Event-Id``: the same for every redelivery of one announcement: dedupe on it;
- ``X-Authstream-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Authstream-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the destination's
  secret, of ``<timestamp>.<raw body>``. Signing the timestamp too means a recorded request
  cannot be replayed later: reject timestamps more than five minutes away from your clock.

``transition`` numbers a user's entries and exits of the segment (odd: entered), so a receiver
can order them even if a retried delivery arrives after a later one.
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

import orjson

from schemas import Event

SCHEMA = "authstream.webhook/1"
EVENT_HEADER = "X-Authstream-Event-Id"
TIMESTAMP_HEADER = "X-Authstream-Timestamp"
SIGNATURE_HEADER = "X-Authstream-Signature"
TOLERANCE_S = 300


def payload(event: Event) -> bytes:
    user = {"user_id": event.user.user_id, "email": event.user.email, "name": event.user.name}
    return orjson.dumps(
        {
            "schema": SCHEMA,
            "event_id": event.event_id,
            "type": event.type,
            "segment": event.data.get("segment"),
            "transition": event.data.get("transition"),
            "occurred_at": event.occurred_at.isoformat(),
            "tenant": event.tenant,
            "user": {k: v for k, v in user.items() if v is not None},
        }
    )


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: bytes, event: Event, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event.event_id,
        "X-Authstream-Event-Type": event.type,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: bytes, headers: Mapping[str, str], body: bytes, now: datetime, tolerance_s: int = 300
) -> bool:
    """What a receiver checks (headers with lower-case names): a valid signature, made
    recently. Constant-time."""
    timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > tolerance_s:
        return False
    given = headers.get(SIGNATURE_HEADER.lower(), "")
    return hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode())
