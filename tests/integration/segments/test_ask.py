"""The Action that asks, end to end: a database customer without a birthday, gender or interests
cannot be in `preorder-running-men`; the "authstream ask" Action asks at the next login (the
simulated Auth0 runtime runs both Actions, in Node, publishing to the real RabbitMQ); the login
after the answers carries them in user_metadata; the index and segments stages put the customer
in the segment."""

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import REPO_ROOT, eventually, prerequisite_missing
from tests.workers import running

PUBLISHER = REPO_ROOT / "publisher_rule"
SEGMENT = "preorder-running-men"
CUSTOMER = {
    "user_id": "auth0|65a1c0ffee42",
    "email": "sam.stride@example.com",
    "email_verified": True,
    "name": "Sam Stride",
    "nickname": "sam",
    "identities": [
        {"user_id": "65a1c0ffee42", "provider": "auth0",
         "connection": "Username-Password-Authentication", "isSocial": False}
    ],
    "created_at": "2026-11-01T09:00:00.000Z",
    "user_metadata": {},
    "app_metadata": {},
}  # fmt: skip
ANSWERS = {"birthday": "1992-04-03", "gender": "male", "interests": ["running"]}


@pytest.fixture(autouse=True)
def _node_and_the_actions_packages() -> None:
    """`make test` installs them first (make js-deps); elsewhere this skips, except under CI."""
    if shutil.which("node") is None or not (PUBLISHER / "node_modules").is_dir():
        prerequisite_missing("needs Node and `npm ci` in publisher_rule (make js-deps)")


def logins(settings: Settings, phase: str, user: dict[str, Any]) -> dict[str, Any]:
    """Both Actions for one login of ``user`` (publisher_rule/test/e2e/ask-flow.js)."""
    done = subprocess.run(
        ["node", "test/e2e/ask-flow.js", phase, json.dumps(user)],
        cwd=PUBLISHER,
        env=os.environ
        | {
            "AMQP_URL": settings.amqp_url.get_secret_value(),
            "AMQP_EXCHANGE": Names(settings.name_prefix).exchange,
            "ANSWERS": json.dumps(ANSWERS),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def settled(settings: Settings, logins_count: int) -> dict[str, Any] | None:
    """The profile once this login is folded and nothing is left to do in any queue."""
    names = Names(settings.name_prefix)
    found = search.profile(settings, CUSTOMER["user_id"]) or {}
    idle = all(
        broker.message_count(settings, names.work_queue(s)) == 0 for s in ("index", "segments")
    )
    return found if idle and found.get("logins_count") == logins_count else None


def segments_of(profile: dict[str, Any]) -> list[str]:
    return [m["name"] for m in profile.get("segments", [])]


def test_a_customer_who_answers_enters_preorder_running_men_on_the_next_login(
    settings: Settings,
) -> None:
    assert main(["setup"]) == 0
    with running(settings, ("index", "segments")):
        first = logins(settings, "first", CUSTOMER)
        assert first["asked"] is True
        assert first["missing"] == ["birthday", "gender", "interests"]
        assert first["user"]["user_metadata"] == ANSWERS  # stored by onContinuePostLogin
        before = eventually(lambda: settled(settings, 2), timeout=30, message="login 2 folded")
        assert before.get("gender") is None and SEGMENT not in segments_of(before)

        second = logins(settings, "next", first["user"])
        assert second["asked"] is False  # nothing is missing any more
        after = eventually(
            lambda: (p := settled(settings, 3)) and SEGMENT in segments_of(p) and p,
            timeout=45,
            message=f"the customer in {SEGMENT}",
        )
    assert after["gender"] == "male" and after["birth_date"] == "1992-04-03"
    assert after["interests"] == ["fitness", "running"]
    assert after["interest_sources"]["fitness"] == ["declared"]
    assert after["provenance"]["birth_date"]["field"] == "user.user_metadata.birthday"
