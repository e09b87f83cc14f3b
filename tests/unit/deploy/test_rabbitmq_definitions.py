import json
import re

from consumers.broker.definitions import definitions
from tests.helpers import REPO_ROOT

DEFINITIONS = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"


def test_the_checked_in_file_is_the_one_for_no_prefix() -> None:
    assert json.loads(DEFINITIONS.read_text()) == definitions()


def test_the_file_has_no_passwords_and_a_publish_only_auth0_user() -> None:
    found = definitions()
    assert all(user["password_hash"] == "" for user in found["users"])  # set on deploy
    auth0 = next(p for p in found["permissions"] if p["user"] == "authstream-auth0")
    assert (auth0["configure"], auth0["read"]) == ("^$", "^$")


def test_names_follow_the_prefix_and_the_auth0_user_writes_only_logins_and_signups() -> None:
    found = definitions("acme-")
    auth0 = next(p for p in found["permissions"] if p["user"] == "authstream-auth0")
    assert re.fullmatch(auth0["write"], "acme-authstream.events")
    assert not re.fullmatch(auth0["write"], "authstream.events")
    assert not re.fullmatch(auth0["write"], "acme-authstreamXevents")  # dots are escaped
    [topic] = found["topic_permissions"]
    assert topic["exchange"] == "acme-authstream.events"  # RabbitMQ wants the exchange's name
    allowed = [
        k
        for k in (
            "auth.login",
            "auth.signup",
            "user.deleted",
            "profile.sentiment",
            "segment.vip.entered",
            "auth.loginx",
        )
        if re.fullmatch(topic["write"], k)
    ]
    assert allowed == ["auth.login", "auth.signup"]
    worker = next(p for p in found["permissions"] if p["user"] == "authstream-worker")
    assert re.fullmatch(worker["configure"], "acme-authstream.derived")
    assert not re.fullmatch(worker["configure"], "other-authstream.index")
