import orjson
import pytest

from consumers.core.errors import InvalidEvent
from consumers.pipeline.decode import decode_event
from schemas import Event
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


HEAD = (
    b'{"schema": "authstream.event/1", "event_id": "e1", "type": "auth.login", '
    b'"occurred_at": "2026-01-01T00:00:00Z", '
)


@pytest.mark.parametrize(
    ("where", "rest"),
    [
        ("data.n", b'"user": {"user_id": "u"}, "data": {"n": 18446744073709551616}}'),
        (
            "user.logins_count",
            b'"user": {"user_id": "u", "logins_count": 10000000000000000000000}}',
        ),
        (
            "user.user_metadata.m.0",
            b'"user": {"user_id": "u", "user_metadata": {"m": [-9223372036854775809]}}}',
        ),
    ],
)
def test_an_integer_beyond_64_bits_is_refused_where_it_is(where: str, rest: bytes) -> None:
    """Found by fuzzing: accepted, then orjson could not write the event document, and the whole
    bulk request (every event batched with it) failed."""
    with pytest.raises(InvalidEvent) as info:
        decode_event(HEAD + rest, 1 << 20)
    assert info.value.reason.startswith(f"{where}: integer outside the 64-bit range")


def test_long_digit_strings_and_64_bit_integers_are_fine() -> None:
    raw = envelope(event_id="9002026112910150012300000000000000000000000000000000000001")
    raw["data"] = {"max": 2**64 - 1, "min": -(2**63)}
    assert decode_event(dumps(raw), 1 << 20).data == {"max": 2**64 - 1, "min": -(2**63)}


def test_another_contracts_envelope_is_named_by_its_schema_alone() -> None:
    """Its other fields are no errors of this contract: the reason is the schema's, as when the
    schema was checked before the fields."""
    body = dumps(envelope(schema="authstream.event/2", type="Not A Type", user={}))
    with pytest.raises(InvalidEvent) as info:
        decode_event(body, 1 << 20)
    assert info.value.reason == (
        "unsupported schema 'authstream.event/2': this authstream reads 'authstream.event/1'"
    )


def test_null_metadata_and_identity_tokens_read_the_same_from_bytes_and_from_objects() -> None:
    """Decoding reads the body straight from JSON; validating parsed objects is the reference."""
    raw = envelope()
    raw["user"] |= {
        "user_metadata": None,
        "app_metadata": None,
        "identities": [{"provider": "github", "user_id": 7, "access_token": "gho_secret"}],
    }
    decoded = decode_event(orjson.dumps(raw), 1 << 20)
    assert decoded == Event.model_validate(orjson.loads(orjson.dumps(raw)))
    assert decoded.user.user_metadata == {} and decoded.user.app_metadata == {}
    assert "gho_secret" not in decoded.model_dump_json()
    no_identities = envelope()
    no_identities["user"]["identities"] = None
    assert decode_event(orjson.dumps(no_identities), 1 << 20).user.identities == []
