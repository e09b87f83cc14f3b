"""Auth0 tenant log records → authstream envelopes, as Auth0 writes them.

A Log Stream record is ``{"log_id": ..., "data": {"date", "type", "user_id", "user_name", ...}}``
(the Management API's ``/api/v2/logs`` gives the same ``data`` with ``log_id`` inside). Every
record becomes an event, ``event_id`` = ``log_id``: the events data stream is the tenant's history.
The type code is looked up in the catalogue (``auth0_log_types``) for its family, its envelope
type, and whether it is about an end user.

Only end users get profiles. A record builds one when its code is an end-user code and it names a
customer in ``data.user_id`` (not a machine ``<client_id>@clients``). Every other record carries
``data.builds_profile: false``; the index stage stores it as an event and folds no profile. Its
``user.user_id`` says whom the record names, for the history: the ``user_id`` Auth0 wrote (an
admin for Management API calls), else the machine client (``<client_id>@clients``), else
``NO_USER``, an id no Auth0 user can have (Auth0 ids are ``<provider>|<id>``).

What a record knows about the customer is carried: the email (``user_name`` when it is an address,
else ``details.email`` and the like; the new address for an email change), Auth0's logins count
(``details.stats.loginsCount``), and ``email_verified`` when the record proves it (``sv``).
"""

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

import orjson

from consumers.core.errors import InvalidEvent
from consumers.ingest.auth0_log_types import LogType, catalogue
from schemas import SCHEMA_ID

SOURCE = "auth0-log-stream"
NO_USER = "auth0:no-user"
MACHINE_SUFFIX = "@clients"
# Codes whose record proves the user's email address is verified.
PROVES_EMAIL_VERIFIED = frozenset({"sv"})
# Client-credentials token exchanges: a machine, never a person.
MACHINE_TOKEN_CODES = frozenset({"seccft", "feccft"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AUTH0_HOSTNAME = re.compile(r"^([a-z0-9][a-z0-9-]*)\.(?:[a-z0-9-]+\.)?auth0\.com$")
USER_PATH = re.compile(r"^/api/v2/users/([^/?]+)")


def event_type(code: str) -> str:
    """The envelope type of a log type code (``auth0.<code>`` for codes without a mapping)."""
    return catalogue().lookup(code).event_type


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", {}, [])}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _address(value: Any) -> str | None:
    text = _text(value)
    return text if text and EMAIL.match(text) else None


def tenant_of(data: dict[str, Any], default: str | None = None) -> str | None:
    """The tenant's name, however the record spells it: ``tenant_name``, the tenant named in the
    request (``details.body.tenant``), the first label of an ``<tenant>.<region>.auth0.com``
    hostname, else ``default`` (a custom domain such as ``login.shop.example`` names no tenant)."""
    details = data.get("details")
    for candidate in (
        data.get("tenant_name"),
        _dig(details, "body", "tenant"),
        _dig(details, "query", "tenant"),
    ):
        if name := _text(candidate):
            return name.lower()
    hostname = (_text(data.get("hostname")) or "").lower()
    if match := AUTH0_HOSTNAME.match(hostname):
        return match.group(1)
    return default


def customer_email(code: str, data: dict[str, Any]) -> str | None:
    details = data.get("details")
    if code == "sce" and (new := _address(_dig(details, "body", "newEmail"))):
        return new  # an email change: user_name is still the old address
    for candidate in (
        data.get("user_name"),
        _dig(details, "email"),
        _dig(details, "body", "email"),
        _dig(details, "to"),
    ):
        if address := _address(candidate):
            return address
    return None


def logins_count(details: Any) -> int | None:
    count = _dig(details, "stats", "loginsCount")
    if count is None:
        prompts = _dig(details, "prompts")
        for prompt in prompts if isinstance(prompts, list) else []:
            if (count := _dig(prompt, "stats", "loginsCount")) is not None:
                break
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def actor_of(log_type: LogType, data: dict[str, Any]) -> dict[str, str] | None:
    """Who made a management or machine call: an admin (their ``user_id``) or a machine client."""
    user_id, client_id = _text(data.get("user_id")), _text(data.get("client_id"))
    if user_id and user_id.endswith(MACHINE_SUFFIX):
        return {"kind": "machine", "client_id": user_id.removesuffix(MACHINE_SUFFIX)}
    if log_type.family == "management":
        if user_id:
            return {"kind": "admin", "user_id": user_id}
        return {"kind": "machine", "client_id": client_id} if client_id else None
    path = _text(_dig(data.get("details"), "request", "path")) or ""
    if (
        not user_id
        and client_id
        and (log_type.code in MACHINE_TOKEN_CODES or path.startswith("/api/v2/"))
    ):
        return {"kind": "machine", "client_id": client_id}
    return None


def target_user(data: dict[str, Any]) -> str | None:
    """The customer a Management API call acted on (informative: it builds no profile)."""
    path = _text(_dig(data.get("details"), "request", "path")) or ""
    match = USER_PATH.match(path)
    return unquote(match.group(1)) if match else None


def _error(details: Any) -> str | None:
    error = _dig(details, "error")
    return _text(error) or _text(_dig(error, "message"))


def _shown(log_id: str, limit: int = 64) -> str:
    # Enough to find the record; a reason is repeated in the answer and the logs, not a copy.
    return log_id if len(log_id) <= limit else log_id[: limit - 1] + "…"


def envelope_from(
    record: Any, default_tenant: str | None = None, history_only: Collection[str] = ()
) -> dict[str, Any]:
    """The envelope for one log record; InvalidEvent says why a record cannot become one.
    Records of the ``history_only`` families build no profile (the Action publishes those)."""
    if not isinstance(record, dict):
        raise InvalidEvent("a log record must be a JSON object")
    data = record.get("data")
    log_id = record.get("log_id") or (data.get("log_id") if isinstance(data, dict) else None)
    if not isinstance(log_id, str) or not log_id:
        raise InvalidEvent("log record without a log_id")
    if not isinstance(data, dict):
        raise InvalidEvent(f"log {_shown(log_id)}: no 'data' object")
    code = data.get("type")
    if not isinstance(code, str) or not code:
        raise InvalidEvent(f"log {_shown(log_id)}: no log type")
    log_type = catalogue().lookup(code)
    named = _text(data.get("user_id"))
    builds = log_type.end_user and log_type.family not in history_only
    customer = named if builds and named and not named.endswith(MACHINE_SUFFIX) else None
    actor = actor_of(log_type, data)
    details = data.get("details")
    user: dict[str, Any] = {"user_id": customer or named or NO_USER}
    if actor and actor["kind"] == "machine" and not named:
        user["user_id"] = actor["client_id"] + MACHINE_SUFFIX
    if log_type.end_user:
        user |= _clean(
            {
                "email": customer_email(code, data),
                "email_verified": True if code in PROVES_EMAIL_VERIFIED else None,
                "logins_count": logins_count(details),
            }
        )
    return {
        "schema": SCHEMA_ID,
        "event_id": log_id,  # Auth0 retries resend the same log_id: duplicates are harmless
        "type": log_type.event_type,
        "occurred_at": data.get("date"),
        "source": SOURCE,
        "tenant": tenant_of(data, default_tenant),
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
                "family": log_type.family,
                "description": data.get("description"),
                "error": _error(details),
                "strategy_type": data.get("strategy_type"),
                "hostname": data.get("hostname"),
                "user_name": data.get("user_name"),
                "actor": actor,
                "target_user_id": target_user(data) if actor else None,
            }
        )
        | ({} if customer else {"builds_profile": False}),
    }


def as_json(envelope: dict[str, Any]) -> bytes:
    """An envelope as the JSON body to publish; InvalidEvent when it cannot be written."""
    try:
        return orjson.dumps(envelope)
    except orjson.JSONEncodeError as exc:  # e.g. a value nested deeper than JSON writers go
        reason = str(exc).lower()
        shown = _shown(str(envelope.get("event_id")))
        raise InvalidEvent(f"log {shown}: not writable as JSON ({reason})") from None
