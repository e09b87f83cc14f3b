"""A shop's behaviour events, in the collector's small shape, → ``authstream.event/1`` envelopes.

The shape (README, "Shop events over HTTP")::

    {"type": "behavior.product_viewed",            # behavior.<action>, or user.identified
     "user_id": "auth0|5f1d..." | "anonymous_id": "8c1e7a52-...",
     "occurred_at": "2026-11-29T10:15:00.123Z",
     "event_id": "a client-made id (optional, recommended)",
     "properties": {"category": "Running shoes", "product_id": "IS-2041", ...},
     "context": {"page_url": "...", ...}}                         # optional

``user.identified`` carries both ids: the visitor logged in as that user. The ``event_id`` is
made from the source (the write key's name) and the client's id, or, without one, from the event's
content; so a client that sends a batch again gets the same ids, and nothing counts twice.
"""

import re
import uuid
from typing import Any

import orjson

from consumers.core.errors import InvalidEvent
from consumers.profile.anonymous import (
    ANONYMOUS_PREFIX,
    IDENTIFIED,
    anonymous_user_id,
    valid_anonymous_id,
)
from schemas import SCHEMA_ID

SOURCE = "app"
NAMESPACE = uuid.UUID("7d4c3e52-96a1-4f0e-b1f4-2a9c5d6e8b13")
ACTION = re.compile(r"^behavior\.[a-z][a-z0-9_]{0,63}$")
CLIENT_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_USER_ID = 256
MAX_CATEGORY = 256
CATEGORY_KEYS = ("category", "product_category")


def _user_id(raw: dict[str, Any]) -> str | None:
    user_id = raw.get("user_id")
    if user_id is None:
        return None
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
        raise InvalidEvent(f"user_id must be a string of 1 to {MAX_USER_ID} characters")
    if user_id.startswith(ANONYMOUS_PREFIX):
        raise InvalidEvent(f"user_id may not start with {ANONYMOUS_PREFIX!r}: send anonymous_id")
    return user_id


def _anonymous_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("anonymous_id")
    if value is None:
        return None
    if valid_anonymous_id(value) is None:
        raise InvalidEvent("anonymous_id must be 8 to 128 letters, digits or ._:-")
    return str(value)


def _properties(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidEvent("properties must be an object")
    if kind == IDENTIFIED:
        return properties
    categories = [properties.get(k) for k in CATEGORY_KEYS if properties.get(k) is not None]
    if not categories:
        raise InvalidEvent("properties.category (the product category) is required")
    if not all(isinstance(c, str) and 0 < len(c.strip()) <= MAX_CATEGORY for c in categories):
        raise InvalidEvent(f"properties.category must be text of 1 to {MAX_CATEGORY} characters")
    return properties


def _event_id(raw: dict[str, Any], source: str, content: dict[str, Any]) -> str:
    given = raw.get("event_id")
    if given is not None:
        if not isinstance(given, str) or not CLIENT_EVENT_ID.match(given):
            raise InvalidEvent("event_id must be 1 to 128 letters, digits or ._:-")
        return str(uuid.uuid5(NAMESPACE, f"{source}|id|{given}"))
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode()
    return str(uuid.uuid5(NAMESPACE, f"{source}|content|{canonical}"))


def envelope_from_shop(
    raw: Any, source: str, tenant: str | None, request: dict[str, Any]
) -> dict[str, Any]:
    """One shop event → an envelope (not yet validated as one: the caller decodes it like any
    other way in). ``request`` holds what the server saw (ip, user agent)."""
    if not isinstance(raw, dict):
        raise InvalidEvent("an event must be a JSON object")
    kind = raw.get("type")
    if not isinstance(kind, str) or not (kind == IDENTIFIED or ACTION.match(kind)):
        raise InvalidEvent(f"type must be behavior.<action> (a-z, 0-9, _) or {IDENTIFIED}")
    user_id, anonymous_id = _user_id(raw), _anonymous_id(raw)
    if kind == IDENTIFIED and not (user_id and anonymous_id):
        raise InvalidEvent(f"{IDENTIFIED} needs both user_id and anonymous_id")
    if not (user_id or anonymous_id):
        raise InvalidEvent("user_id or anonymous_id is required")
    occurred_at = raw.get("occurred_at")
    if not isinstance(occurred_at, str) or not occurred_at.strip():
        raise InvalidEvent("occurred_at (RFC 3339) is required")
    properties = _properties(raw, kind)
    context = raw.get("context", {})
    if not isinstance(context, dict):
        raise InvalidEvent("context must be an object")
    content = {
        "type": kind,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "occurred_at": occurred_at,
        "properties": properties,
    }
    data = {**properties, "app_source": source}
    if anonymous_id:
        data["anonymous_id"] = anonymous_id
    return {
        "schema": SCHEMA_ID,
        "event_id": _event_id(raw, source, content),
        "type": kind,
        "occurred_at": occurred_at,
        "source": SOURCE,
        "tenant": tenant,
        "user": {"user_id": user_id or anonymous_user_id(str(anonymous_id))},
        # What the client says about where it happened wins over what the server saw.
        "context": {k: v for k, v in request.items() if v} | context,
        "data": data,
    }
