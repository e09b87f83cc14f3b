"""Auth0 Log Stream records → authstream envelopes.

A record is ``{"log_id": ..., "data": {"date", "type", "user_id", "user_name", "ip", ...}}``;
``type`` is Auth0's short log code. The codes authstream understands become envelope types;
every other code is kept as ``auth0.<code>`` so nothing is silently dropped. Log events carry
no full profile, so the user is what the log says (id and name), folded like any other event.
"""

import re
from typing import Any

from consumers.core.errors import InvalidEvent
from schemas import SCHEMA_ID

SOURCE = "auth0-log-stream"
EVENT_TYPES = {
    "s": "auth.login",  # success login
    "ss": "auth.signup",  # success signup
    "f": "auth.login_failed",  # failed login
    "fp": "auth.login_failed",  # failed login: incorrect password
    "fu": "auth.login_failed",  # failed login: invalid email/username
    "sdu": "user.deleted",  # successful user deletion
    "du": "user.deleted",  # deleted user (older tenants)
    "slo": "auth.logout",  # success logout
}


def event_type(code: str) -> str:
    return EVENT_TYPES.get(code) or "auth0." + (
        re.sub(r"[^a-z0-9_]", "_", code.lower()) or "unknown"
    )


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


def envelope_from(record: Any) -> dict[str, Any]:
    """The envelope for one log record; InvalidEvent says why a record cannot become one."""
    if not isinstance(record, dict):
        raise InvalidEvent("a log record must be a JSON object")
    log_id, data = record.get("log_id"), record.get("data")
    if not isinstance(log_id, str) or not log_id:
        raise InvalidEvent("log record without a log_id")
    if not isinstance(data, dict):
        raise InvalidEvent(f"log {log_id}: no 'data' object")
    code, user_id = data.get("type"), data.get("user_id")
    if not isinstance(code, str) or not code:
        raise InvalidEvent(f"log {log_id}: no log type")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidEvent(f"log {log_id} ({code}): no user_id, nothing to attach it to")
    user_name = data.get("user_name")
    user = _clean({"user_id": user_id, "name": user_name})
    if isinstance(user_name, str) and "@" in user_name:
        user["email"] = user_name
    return {
        "schema": SCHEMA_ID,
        "event_id": log_id,  # Auth0 retries resend the same log_id: duplicates are harmless
        "type": event_type(code),
        "occurred_at": data.get("date"),
        "source": SOURCE,
        "tenant": data.get("tenant_name") or data.get("hostname"),
        "user": user,
        "context": _clean(
            {
                "ip": data.get("ip"),
                "user_agent": data.get("user_agent"),
                "client_id": data.get("client_id"),
                "client_name": data.get("client_name"),
                "connection": data.get("connection"),
                "connection_strategy": data.get("strategy"),
            }
        ),
        "data": _clean(
            {
                "auth0_log_type": code,
                "description": data.get("description"),
                "strategy_type": data.get("strategy_type"),
            }
        ),
    }
