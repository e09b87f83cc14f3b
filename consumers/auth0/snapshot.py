"""An Auth0 user, as the Management API gives it, → a ``user.updated`` envelope.

``event_id`` is derived from the user id and ``updated_at``: the same version of a user gives the
same id whichever way it was read (search, export, single-user fetch) and however often, so a
rerun or an overlap publishes duplicates the index stage recognises, never a second change.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from consumers.core.errors import InvalidEvent
from schemas import SCHEMA_ID

SOURCE = "auth0-sync"
NAMESPACE = uuid.UUID("5f0b2a8e-3c4d-4e1f-9a6b-7c8d9e0f1a2b")
EPOCH = "1970-01-01T00:00:00.000Z"


def instant(value: Any) -> str | None:
    """An Auth0 timestamp in one canonical form (UTC, milliseconds, ``Z``), which sorts as text."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def version_of(user: dict[str, Any]) -> str:
    """Which version of the user this is: its ``updated_at`` (or ``created_at``)."""
    return instant(user.get("updated_at")) or instant(user.get("created_at")) or EPOCH


def sync_event_id(user_id: str, version: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{user_id}|{version}"))


def user_updated(user: dict[str, Any], tenant: str | None, via: str) -> dict[str, Any]:
    """The envelope for one user; InvalidEvent when the record has no user id."""
    user_id = user.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidEvent("an Auth0 user without a user_id")
    version = version_of(user)
    identities = user.get("identities")
    first = identities[0] if isinstance(identities, list) and identities else {}
    first = first if isinstance(first, dict) else {}
    context = {
        "connection": first.get("connection"),
        "connection_strategy": first.get("provider"),
    }
    return {
        "schema": SCHEMA_ID,
        "event_id": sync_event_id(user_id, version),
        "type": "user.updated",
        "occurred_at": version,
        "source": SOURCE,
        "tenant": tenant,
        "user": {k: v for k, v in user.items() if v is not None},
        "context": {k: v for k, v in context.items() if isinstance(v, str) and v},
        "data": {"synced_by": via},
    }
