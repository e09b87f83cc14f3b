"""Real-time membership end to end: raw events → index → profile.changed → segments →
segment.entered / segment.left → index (membership on the profile) and destinations (webhooks).

Real RabbitMQ, real Elasticsearch, the three stages running as they do in production, and a local
webhook receiver standing in for the marketing tool.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import dumps, envelope, eventually
from tests.metrics import sample
from tests.standins import WebhookReceiver
from tests.standins.webhook import hmac_sha256_hex
from tests.workers import running

SECRET = "whsec-test-5f2b9c"
SEGMENT = "running-fans"
USER = {"user_id": "facebook|42", "email": "zoe@example.com", "name": "Zoe Runner"}


def segment_file(directory: Path, receiver: WebhookReceiver) -> None:
    (directory / f"{SEGMENT}.yaml").write_text(
        f"""\
description: runners who have not refused marketing
where:
  all:
    - interests: running
    - consent: {{not: refused}}
destinations:
  - webhook: {receiver.base_url}/hooks/running-fans
    secret_env: RUNNING_FANS_SECRET
    name: email-tool
"""
    )


@contextmanager
def announcements(settings: Settings) -> Iterator[str]:
    """A queue of our own that hears every segment.* announcement on authstream.events."""
    queue = f"{settings.name_prefix}test-announcements"
    with broker.channel(settings) as ch:
        ch.queue_declare(queue)
        ch.queue_bind(queue, Names(settings.name_prefix).exchange, "segment.#")
    try:
        yield queue
    finally:
        with broker.channel(settings) as ch:
            ch.queue_delete(queue)


def publish(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / f"events{random.randrange(10**9)}.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0


def done(stage: str) -> float:
    return sample("authstream_messages_total", stage=stage, outcome="done")


def signed_by_us(delivery: Any) -> bool:
    timestamp = delivery.headers["x-authstream-timestamp"].encode()
    expected = "sha256=" + hmac_sha256_hex(SECRET, timestamp + b"." + delivery.body)
    return bool(delivery.headers["x-authstream-signature"] == expected)


def heard_of(messages: list[Any]) -> list[tuple[str, str, int]]:
    """(user, routing key, transition) of announcements drained from the test queue."""
    found = [(orjson.loads(body), method.routing_key) for method, _, body in messages]
    return sorted((b["user"]["user_id"], key, b["data"]["transition"]) for b, key in found)


def calls_for(receiver: WebhookReceiver, user_id: str) -> list[Any]:
    return [d for d in receiver.deliveries if d.json["user"]["user_id"] == user_id]


def settled(settings: Settings, heard: str, receiver: WebhookReceiver, tmp_path: Path) -> list:
    """Everything announced until now, and then some: a marker user who qualifies is published
    last, so once its entry is announced and delivered, every earlier change has been evaluated
    and every earlier announcement delivered (each queue is first in, first out)."""
    marker = {"user_id": f"auth0|marker{random.randrange(10**9)}", "email": "m@example.com"}
    publish(
        [envelope(type="auth.signup", user=marker | {"likes": [{"name": "Running"}]})], tmp_path
    )
    taken: list[Any] = []

    def marker_heard() -> bool:
        taken.extend(broker.drain(settings, heard))
        return any(orjson.loads(body)["user"]["user_id"] == marker["user_id"] for *_, body in taken)

    eventually(marker_heard, message="the marker's entry announced")
    eventually(lambda: calls_for(receiver, marker["user_id"]), message="the marker delivered")
    return [m for m in taken if orjson.loads(m[2])["user"]["user_id"] != marker["user_id"]]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def test_qualifying_is_announced_once_and_delivered_signed_and_leaving_once(
    settings: Settings,
    tmp_path: Path,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = tmp_path / "segments"
    directory.mkdir()
    segment_file(directory, receiver)
    monkeypatch.setenv("AUTHSTREAM_SEGMENTS_DIR", str(directory))
    monkeypatch.setenv("RUNNING_FANS_SECRET", SECRET)
    settings = settings.model_copy(update={"segments_dir": directory})
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    user_id = USER["user_id"]
    signup = envelope(type="auth.signup", occurred_at="2026-03-01T08:00:00Z", user=USER)
    likes = envelope(
        type="user.updated",
        occurred_at="2026-03-02T08:00:00Z",
        user=USER | {"likes": [{"name": "Trail running club", "category": "Sports"}]},
    )
    refuses = envelope(
        type="user.updated",
        occurred_at="2026-03-03T08:00:00Z",
        user=USER | {"app_metadata": {"marketing_consent": False}},
    )

    with (
        announcements(settings) as heard,
        running(settings, ("index", "segments", "destinations")),
    ):
        publish([signup], tmp_path)
        eventually(lambda: search.profile(settings, user_id), message="signed up")
        publish([likes], tmp_path)  # now interested in running: qualifies

        (entered,) = eventually(lambda: broker.drain(settings, heard), message="announced")
        method, properties, body = entered
        announced = orjson.loads(body)
        assert method.routing_key == f"segment.{SEGMENT}.entered"
        assert (properties.type, properties.message_id) == (
            "segment.entered",
            announced["event_id"],
        )
        assert announced["data"] == {"segment": SEGMENT, "transition": 1}
        (call,) = receiver.wait_for_deliveries(1)
        assert call.path == "/hooks/running-fans"
        assert signed_by_us(call)
        assert call.headers["x-authstream-event-id"] == announced["event_id"]
        assert call.json["type"] == "segment.entered"
        assert call.json["user"] == USER

        # Membership is kept on the profile, with when it began.
        member = eventually(
            lambda: (p := search.profile(settings, user_id)) and p.get("segments") and p,
            message="membership folded",
        )
        ((name, since),) = [(m["name"], m["entered_at"]) for m in member["segments"]]
        assert name == SEGMENT
        assert datetime.fromisoformat(since) == datetime.fromisoformat(announced["occurred_at"])

        # Redeliveries (the raw event, so its profile.changed comes again, and the announcement
        # itself, to each queue that consumes it) announce nothing new and deliver nothing twice.
        publish([likes], tmp_path)
        with broker.channel(settings) as ch:
            for stage in ("index", "destinations"):
                ch.basic_publish("", names.work_queue(stage), body, properties)
        assert settled(settings, heard, receiver, tmp_path) == []
        assert len(calls_for(receiver, user_id)) == 1

        publish([refuses], tmp_path)  # refused marketing: leaves
        eventually(
            lambda: (search.profile(settings, user_id) or {}).get("segments") == [],
            message="membership ended",
        )
        assert heard_of(settled(settings, heard, receiver, tmp_path)) == [
            (user_id, f"segment.{SEGMENT}.left", 2)
        ]
        _, second = calls_for(receiver, user_id)
        assert second.json["type"] == "segment.left" and signed_by_us(second)
        assert second.json["transition"] == 2
    assert broker.message_count(settings, names.parking_lot("destinations")) == 0
