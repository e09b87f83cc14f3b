"""The destinations stage against a real webhook server: retries with backoff through the retry
queues, its own parking lot with the reason, and nothing sent for users who were erased."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import dumps, envelope, eventually
from tests.standins import WebhookReceiver
from tests.workers import running

SEGMENTS = ("flaky", "gone", "recovers")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def configured(
    settings: Settings, tmp_path: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """One segment per destination behaviour, each with its webhook at its own path."""
    directory = tmp_path / "segments"
    directory.mkdir()
    for name in SEGMENTS:
        (directory / f"{name}.yaml").write_text(
            f"where: {{gender: female}}\n"
            f"destinations:\n"
            f"  - webhook: {receiver.base_url}/{name}\n"
            f"    secret_env: HOOK_SECRET\n"
        )
    monkeypatch.setenv("AUTHSTREAM_SEGMENTS_DIR", str(directory))
    monkeypatch.setenv("HOOK_SECRET", "s3cret-for-tests")
    assert main(["setup"]) == 0
    return settings.model_copy(update={"segments_dir": directory})


def announce(settings: Settings, segment: str, user_id: str) -> dict[str, Any]:
    """A segment.entered as the segments stage publishes it."""
    event = envelope(
        event_id=str(uuid.uuid4()),
        type="segment.entered",
        source="authstream",
        user={"user_id": user_id, "email": f"{segment}@example.com"},
        data={"segment": segment, "transition": 1},
    )
    properties = pika.BasicProperties(
        message_id=event["event_id"], type=event["type"], delivery_mode=2
    )
    with broker.channel(settings) as ch:
        routing_key = f"segment.{segment}.entered"
        ch.basic_publish(
            Names(settings.name_prefix).exchange, routing_key, dumps(event), properties
        )
    return event


def test_failing_destinations_are_retried_with_backoff_then_parked_with_the_reason(
    configured: Settings, receiver: WebhookReceiver
) -> None:
    settings = configured
    names = Names(settings.name_prefix)
    receiver.fail(500, times=None, path_prefix="/flaky")  # down for good
    receiver.fail(410, times=None, path_prefix="/gone")  # says: stop sending
    receiver.fail(503, times=2, path_prefix="/recovers")  # back after two failures
    events = {name: announce(settings, name, f"auth0|{name}") for name in SEGMENTS}
    with running(settings, ("destinations",)):
        eventually(
            lambda: broker.message_count(settings, names.parking_lot("destinations")) == 2,
            timeout=30,
            message="two events parked",
        )
        eventually(lambda: len(receiver.requests_to("/recovers")) == 3, message="recovered")
    parked = {
        properties.message_id: properties.headers
        for _, properties, _ in broker.drain(settings, names.parking_lot("destinations"))
    }
    flaky, gone = parked[events["flaky"]["event_id"]], parked[events["gone"]["event_id"]]
    # Each retry went through the delayed retry queues: five attempts (AUTHSTREAM_MAX_ATTEMPTS).
    assert flaky["x-authstream-attempts"] == settings.max_attempts
    assert len(receiver.requests_to("/flaky")) == settings.max_attempts
    assert flaky["x-authstream-error"] == (
        f"webhook flaky/webhook-1 ({receiver.base_url}) answered 500"
    )
    # Another 4xx would get the same answer again: parked at once.
    assert gone["x-authstream-attempts"] == 1
    assert len(receiver.requests_to("/gone")) == 1
    assert gone["x-authstream-error"].startswith(
        f"webhook gone/webhook-1 ({receiver.base_url}) answered 410: "
    )
    # Every attempt is signed afresh and names the same event.
    ids = {r.headers["x-authstream-event-id"] for r in receiver.requests_to("/recovers")}
    assert ids == {events["recovers"]["event_id"]}
    assert len({r.headers["x-authstream-timestamp"] for r in receiver.requests_to("/flaky")}) >= 2


def test_nothing_is_sent_for_a_user_who_was_erased(
    configured: Settings, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    settings = configured
    publish_path = tmp_path / "erase.jsonl"
    user = {"user_id": "auth0|gone-for-good", "email": "gone@example.com"}
    publish_path.write_bytes(
        dumps(envelope(type="auth.signup", user=user))
        + b"\n"
        + dumps(envelope(type="user.deleted", occurred_at="2026-02-01T00:00:00Z", user=user))
    )
    assert main(["publish", str(publish_path)]) == 0
    with running(settings, ("index", "destinations")):
        eventually(
            lambda: (search.profile(settings, user["user_id"]) or {}).get("deleted_at"),
            message="erased (a tombstone)",
        )
        announce(settings, "flaky", user["user_id"])  # announced before the erasure, say
        still_here = announce(settings, "gone", "auth0|still-here")
        eventually(lambda: receiver.requests_to("/gone"), message="the other user's event sent")
    assert receiver.requests_to("/flaky") == []
    assert receiver.requests_to("/gone")[0].json["event_id"] == still_here["event_id"]
