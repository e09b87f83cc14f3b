"""What destination webhooks receive and how they check it came from authstream."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import orjson

from consumers.core.settings import Settings
from consumers.segments.webhook import payload, signed_headers, verify
from consumers.stages.destinations import destinations_missing
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = b"whsec-unit"


def entered() -> Event:
    return Event.model_validate(
        envelope(
            type="segment.entered",
            source="authstream",
            user={"user_id": "facebook|1", "email": "a@x.io", "name": "Ann", "gender": "female"},
            data={"segment": "preorder-running-men", "transition": 3},
        )
    )


def test_the_payload_says_who_entered_what_and_nothing_more() -> None:
    event = entered()
    body = orjson.loads(payload(event))
    assert body == {
        "schema": "authstream.webhook/1",
        "event_id": event.event_id,
        "type": "segment.entered",
        "segment": "preorder-running-men",
        "transition": 3,
        "occurred_at": event.occurred_at.isoformat(),
        "tenant": "innovashoes",
        "user": {"user_id": "facebook|1", "email": "a@x.io", "name": "Ann"},
    }


def test_the_signature_covers_the_timestamp_and_the_exact_body() -> None:
    event = entered()
    body = payload(event)
    headers = {k.lower(): v for k, v in signed_headers(SECRET, event, body, NOW).items()}
    timestamp = str(int(NOW.timestamp()))
    assert headers["x-authstream-timestamp"] == timestamp
    assert headers["x-authstream-event-id"] == event.event_id
    digest = hmac.new(SECRET, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["x-authstream-signature"] == f"sha256={digest}"
    assert verify(SECRET, headers, body, NOW + timedelta(seconds=30))
    assert not verify(b"another secret", headers, body, NOW)
    assert not verify(SECRET, headers, body + b" ", NOW)  # the body was changed
    assert not verify(SECRET, headers, body, NOW + timedelta(minutes=6))  # a replay, later
    replayed = headers | {"x-authstream-timestamp": str(int(NOW.timestamp()) + 600)}
    assert not verify(SECRET, replayed, body, NOW + timedelta(minutes=10))


def test_the_destinations_stage_is_off_until_a_segment_has_a_webhook_and_its_secret(
    tmp_path,
) -> None:
    assert destinations_missing(Settings(), {}) == "no segment has a destination"
    (tmp_path / "vip.yaml").write_text(
        "where: {gender: male}\n"
        "destinations:\n"
        "  - webhook: https://mail.example.com/hook\n"
        "    secret_env: VIP_SECRET\n"
    )
    configured = Settings(segments_dir=tmp_path)
    assert (
        destinations_missing(configured, {}) == "VIP_SECRET not set (the webhook signing secrets)"
    )
    assert destinations_missing(configured, {"VIP_SECRET": "s"}) is None
