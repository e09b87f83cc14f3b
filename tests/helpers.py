"""Small helpers shared by the tests: polling with a deadline, sample events."""

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s (last: {result!r})")
        time.sleep(interval)


def envelope(**overrides: Any) -> dict[str, Any]:
    """A valid authstream.event/1 login for a database user; override any top-level field."""
    user = {
        "user_id": "auth0|569d401336afe17803eba2ba",
        "email": "johndoe@gmail.com",
        "email_verified": False,
        "name": "johndoe@gmail.com",
        "nickname": "johndoe",
        "identities": [
            {
                "user_id": "569d401336afe17803eba2ba",
                "provider": "auth0",
                "connection": "Username-Password-Authentication",
                "isSocial": False,
            }
        ],
        "created_at": "2016-01-18T19:42:11.846Z",
        "last_login": "2016-01-18T19:42:13.322Z",
        "logins_count": 1,
    }
    event: dict[str, Any] = {
        "schema": "authstream.event/1",
        "event_id": str(uuid.uuid4()),
        "type": "auth.login",
        "occurred_at": "2016-01-18T19:42:13.322Z",
        "source": "auth0-action",
        "tenant": "innovashoes",
        "user": user,
        "context": {"ip": "174.66.196.104", "connection": "Username-Password-Authentication"},
    }
    event.update(overrides)
    return event


def database_user(n: int, **extra: object) -> dict[str, object]:
    """The ``user`` of an envelope: Auth0 database user number ``n``, ``auth0|user<n>``."""
    return {
        "user_id": f"auth0|user{n}",
        "email": f"User{n}@Example.com",
        "name": f"User {n}",
        "created_at": "2026-01-01T09:00:00Z",
        **extra,
    }


def dumps(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def publish_events(events: list[dict[str, Any]], tmp_path: Path) -> None:
    """Publish envelopes through `authstream publish` (the real CLI path, with confirms)."""
    from consumers.cli.main import main  # here: the CLI imports much that helpers do not need

    path = tmp_path / f"events-{uuid.uuid4().hex}.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0


def auth0_log(
    log_id: str, code: str, user_id: str | None = "auth0|5f1d", **extra: object
) -> dict[str, Any]:
    """A Log Stream record shaped like Auth0's (fields from its log event schema)."""
    data = {
        "date": "2026-11-29T10:15:00.123Z",
        "type": code,
        "description": "",
        "connection": "Username-Password-Authentication",
        "connection_id": "con_9ZtDwYrZ6S8vH2m1",
        "client_id": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
        "client_name": "InnovaShoes Web",
        "ip": "203.0.113.9",
        "user_agent": "Chrome 131.0.0 / Mac OS X 14.6.1",
        "hostname": "innovashoes.eu.auth0.com",
        "user_id": user_id,
        "user_name": "runner@example.com",
        "strategy": "auth0",
        "strategy_type": "database",
        "details": {"prompts": [], "stats": {"loginsCount": 3}},
        "log_id": log_id,
        **extra,
    }
    return {"log_id": log_id, "data": data}


def prerequisite_missing(reason: str) -> NoReturn:
    """Skip a test whose prerequisite this machine lacks, except under CI (``CI=true``, which
    .ci/run sets): there the prerequisite is part of the job, and missing it fails the test
    instead of letting it pass unnoticed as a skip."""
    import pytest  # here: helpers are imported by non-test code paths too

    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true, and a prerequisite is missing: {reason}", pytrace=False)
    pytest.skip(reason)
