"""The RabbitMQ users and permissions authstream needs, as a definitions file for the broker.

Two users: ``authstream-auth0`` (what the Auth0 Action or Rule holds: a secret that leaves your
infrastructure) may only publish, only to the events exchange, and only the event types an Auth0
tenant sends (topic permissions): a leaked Action secret cannot publish ``user.deleted`` (mass
erasure), ``profile.sentiment`` or ``segment.*`` (webhooks to marketing tools), or read anything.
``authstream-worker`` runs the stages. Names follow ``AUTHSTREAM_NAME_PREFIX``, the users' too
(``acme-authstream-auth0``): two prefixes on one vhost each keep their own users, and importing
one's definitions cannot rewrite the other's permissions. The checked-in
``deploy/rabbitmq/definitions.json`` is the file for no prefix (``authstream rabbitmq-definitions``
prints the one for yours). Passwords are never in the file: set them on deploy.
"""

import re
from typing import Any

# What a post-login Action (and the legacy Rule) publishes: a signup, or a login.
AUTH0_EVENT_TYPES = ("auth.signup", "auth.login")
RABBIT_VERSION = "3.13.7"


def _user(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": "",  # set on deploy (rabbitmqctl change_password)
        "hashing_algorithm": "rabbit_password_hashing_sha256",
        "tags": [],
    }


def auth0_user(prefix: str = "") -> str:
    """The publish-only user the Auth0 Action holds."""
    return f"{prefix}authstream-auth0"


def worker_user(prefix: str = "") -> str:
    """The user the stages run as."""
    return f"{prefix}authstream-worker"


def definitions(prefix: str = "", vhost: str = "/") -> dict[str, Any]:
    auth0, worker = auth0_user(prefix), worker_user(prefix)
    base = re.escape(f"{prefix}authstream.")
    events = re.escape(f"{prefix}authstream.events")
    types = "|".join(re.escape(t) for t in AUTH0_EVENT_TYPES)
    return {
        "rabbit_version": RABBIT_VERSION,
        "users": [_user(auth0), _user(worker)],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {
                "user": auth0,
                "vhost": vhost,
                "configure": "^$",
                "write": f"^{events}$",
                "read": "^$",
            },
            {
                "user": worker,
                "vhost": vhost,
                "configure": f"^{base}.*",
                "write": f"^({base}.*|amq\\.default)$",
                "read": f"^{base}.*",
            },
        ],
        "topic_permissions": [
            {
                "user": auth0,
                "vhost": vhost,
                "exchange": f"{prefix}authstream.events",  # a name here, not a pattern
                "write": f"^({types})$",
                "read": "^$",
            }
        ],
    }
