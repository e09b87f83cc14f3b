import json
import re

import pytest

from consumers.broker.definitions import definitions
from consumers.cli.main import main
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
    auth0 = next(p for p in found["permissions"] if p["user"] == "acme-authstream-auth0")
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
    worker = next(p for p in found["permissions"] if p["user"] == "acme-authstream-worker")
    assert re.fullmatch(worker["configure"], "acme-authstream.derived")
    assert not re.fullmatch(worker["configure"], "other-authstream.index")


def test_two_prefixes_on_one_vhost_have_users_of_their_own() -> None:
    """Importing one prefix's definitions must not rewrite another's users' permissions."""
    acme, shop = definitions("acme-", "shared"), definitions("shop-", "shared")
    acme_users = {u["name"] for u in acme["users"]}
    assert acme_users == {"acme-authstream-auth0", "acme-authstream-worker"}
    assert not acme_users & {u["name"] for u in shop["users"]}
    assert {p["user"] for p in acme["permissions"] + acme["topic_permissions"]} == acme_users
    assert {u["name"] for u in definitions()["users"]} == {"authstream-auth0", "authstream-worker"}


@pytest.mark.parametrize(
    ("url", "argv", "vhost"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/shop", [], "shop"),
        ("amqp://guest:guest@127.0.0.1:5672/%2F", [], "/"),
        ("amqp://guest:guest@127.0.0.1:5672", [], "/"),
        ("amqp://guest:guest@127.0.0.1:5672/shop", ["--vhost", "other"], "other"),
    ],
)
def test_the_command_defaults_the_vhost_to_the_urls(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    argv: list[str],
    vhost: str,
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", url)
    monkeypatch.setenv("AUTHSTREAM_NAME_PREFIX", "acme-")
    assert main(["rabbitmq-definitions", *argv]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == definitions("acme-", vhost)
    assert {p["vhost"] for p in printed["permissions"]} == {vhost}
