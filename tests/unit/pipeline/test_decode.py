import orjson
import pytest

from consumers.core.errors import InvalidEvent
from consumers.pipeline.decode import decode_event
from tests.helpers import dumps, envelope


def test_a_valid_body_decodes_to_an_event() -> None:
    raw = envelope()
    assert decode_event(dumps(raw), 1 << 20).event_id == raw["event_id"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "Invalid JSON"),
        (b"[1, 2]", "Input should be an object"),
        (dumps(envelope(schema="authstream.event/0")), "unsupported schema 'authstream.event/0'"),
        (dumps(envelope(user={"name": "x"})), "user.user_id: Field required"),
    ],
)
def test_invalid_bodies_carry_a_readable_reason_and_the_raw_body(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(body, 1 << 20)
    assert reason in info.value.reason
    assert info.value.body == body


def test_reasons_do_not_echo_input_values() -> None:
    raw = envelope()
    raw["user"]["logins_count"] = "secret-ish-value"
    with pytest.raises(InvalidEvent) as info:
        decode_event(orjson.dumps(raw), 1 << 20)
    assert "secret-ish-value" not in info.value.reason


def test_oversized_bodies_are_rejected_before_parsing() -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(b"x" * 5000, 4096)
    assert "5,000 bytes, over the 4,096-byte limit" in info.value.reason


def test_an_immense_schema_value_is_shortened_in_the_reason() -> None:
    """Found by fuzzing: the reason quoted the whole value (a 1,000-character reason)."""
    with pytest.raises(InvalidEvent) as info:
        decode_event(dumps(envelope(schema="x" * 1_000)), 1 << 20)
    assert info.value.reason.startswith("unsupported schema 'xxxxxxxx")
    assert "…: this authstream reads 'authstream.event/1'" in info.value.reason
    assert len(info.value.reason) <= 120

