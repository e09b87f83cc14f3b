"""Visitors before they log in: anonymous ids, and the events that say who a visitor is.

A shop knows a visitor by an anonymous id (a random id kept in a cookie or the app's storage)
until they log in. Their events are filed under the user id ``anon:<anonymous id>``: no Auth0 id
looks like that (Auth0 ids are ``<provider>|<id>``), and the collector refuses user ids that do.
An event filed under a real user that carries ``anonymous_id`` (in ``data`` or ``context``) says
that the visitor is that user: ``user.identified`` from the shop, or a login whose Action read the
id from the authorize request. The index stage then counts the visitor's behaviour for the user.
"""

import re
from typing import Any

from schemas import Event

ANONYMOUS_PREFIX = "anon:"
# Long enough that two visitors do not share one by chance (a UUID is 36 characters).
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
IDENTIFIED = "user.identified"


def anonymous_user_id(anonymous_id: str) -> str:
    return f"{ANONYMOUS_PREFIX}{anonymous_id}"


def visitor_of(user_id: str) -> str | None:
    """The anonymous id of a visitor's user id (``anon:<id>``), or None for a known user."""
    if user_id.startswith(ANONYMOUS_PREFIX):
        return user_id.removeprefix(ANONYMOUS_PREFIX)
    return None


def valid_anonymous_id(value: Any) -> str | None:
    return value if isinstance(value, str) and ANONYMOUS_ID.match(value) else None


def claimed_visitors(event: Event) -> list[str]:
    """The anonymous ids a known user's event says are this user (none for a visitor's own)."""
    if visitor_of(event.user.user_id) is not None:
        return []
    context = event.context.model_extra or {}
    found = [
        valid_anonymous_id(event.data.get("anonymous_id")),
        valid_anonymous_id(context.get("anonymous_id")),
    ]
    return sorted({aid for aid in found if aid})
