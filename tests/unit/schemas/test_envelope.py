from datetime import UTC, datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from consumers.core.errors import InvalidEvent
from consumers.pipeline.decode import decode_event
from schemas import Auth0User, Event
from tests.helpers import dumps, envelope


def parse(**overrides: object) -> Event:
    return Event.model_validate_json(orjson.dumps(envelope(**overrides)))


def test_a_minimal_envelope_needs_only_user_id_in_the_user() -> None:
    event = parse(user={"user_id": "auth0|1"}, context={}, source=None, tenant=None)
    assert event.user.user_id == "auth0|1"
    assert event.user.email is None
    assert event.context.ip is None


@pytest.mark.parametrize(
    "stamp",
    ["2016-01-18T19:42:13.322Z", "2016-01-18T19:42:13Z", "2016-01-18T20:42:13.322+01:00"],
)
def test_timestamps_with_and_without_milliseconds_normalise_to_utc(stamp: str) -> None:
    event = parse(occurred_at=stamp)
    assert event.occurred_at.tzinfo == UTC
    assert event.occurred_at.replace(microsecond=0) == datetime(2016, 1, 18, 19, 42, 13, tzinfo=UTC)


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    assert parse(occurred_at="2016-01-18T19:42:13").occurred_at.tzinfo == UTC


@pytest.mark.parametrize("birthday", ["08/31/1990", "1990-08-31", "08/31"])
def test_birthdays_are_kept_as_the_idp_sent_them(birthday: str) -> None:
    user = Auth0User.model_validate({"user_id": "facebook|1", "birthday": birthday})
    assert user.birthday == birthday


def test_numbers_sent_as_strings_are_numbers() -> None:
    user = Auth0User.model_validate({"user_id": "x", "age": "33", "logins_count": " 7 "})
    assert (user.age, user.logins_count) == (33, 7)


def test_blank_dates_and_numbers_are_absent() -> None:
    user = Auth0User.model_validate({"user_id": "x", "created_at": "", "age": ""})
    assert user.created_at is None and user.age is None


def test_unicode_names_survive_a_round_trip() -> None:
    event = parse(user={"user_id": "google-oauth2|1", "name": "Zoë Ñúñez 山田 🏃"})
    again = Event.model_validate_json(event.model_dump_json())
    assert again.user.name == "Zoë Ñúñez 山田 🏃"


def test_unknown_fields_are_kept_everywhere() -> None:
    raw = envelope(extra_top="kept", context={"ip": "1.2.3.4", "geo": {"city": "Oslo", "tz": "x"}})
    raw["user"] |= {"likes": [{"name": "Nike Running"}], "screen_name": "zoe"}
    event = Event.model_validate_json(orjson.dumps(raw))
    dumped = orjson.loads(event.model_dump_json())
    assert dumped["extra_top"] == "kept"
    assert dumped["user"]["likes"] == [{"name": "Nike Running"}]
    assert dumped["context"]["geo"]["tz"] == "x"
    assert dumped["schema"] == "authstream.event/1"


def test_identity_provider_tokens_are_dropped() -> None:
    user = Auth0User.model_validate(
        {
            "user_id": "github|1",
            "identities": [
                {
                    "provider": "github",
                    "user_id": 1234,
                    "access_token": "gho_secret",
                    "refresh_token": "r",
                }
            ],
        }
    )
    identity = user.identities[0]
    assert identity.user_id == "1234"
    assert "gho_secret" not in user.model_dump_json()


def test_null_metadata_reads_as_empty() -> None:
    user = Auth0User.model_validate({"user_id": "x", "user_metadata": None, "identities": None})
    assert user.user_metadata == {} and user.identities == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"schema": "authstream.event/2"}, "unsupported schema 'authstream.event/2'"),
        ({"user": {"email": "a@b.c"}}, "user.user_id"),
        ({"type": "Login!"}, "type"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"user": {"user_id": "x", "logins_count": "many"}}, "user.logins_count"),
    ],
)
def test_invalid_envelopes_are_rejected_naming_the_field(
    overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse(**overrides)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        # 200 characters, 600 bytes: short in characters, over the byte limit.
        ({"event_id": "事" * 200}, "event_id: is 600 bytes in UTF-8; at most 255"),
        # Found by fuzzing: 256 to 512 bytes passed, then no AMQP message_id could carry it (the
        # ingest endpoint answered 503 for ever, as if the broker were down).
        ({"event_id": "\U0001f45f" * 64}, "event_id: is 256 bytes in UTF-8; at most 255 (AMQP's"),
        ({"user": {"user_id": "auth0|" + "ü" * 300}}, "user.user_id: is 606 bytes"),
        ({"occurred_at": "9999-01-01T00:00:00Z"}, "occurred_at: implausible time"),
        ({"occurred_at": "1970-01-01T00:00:00Z"}, "implausible time 1970-01-01T00:00:00+00:00"),
        ({"user": {"user_id": "x", "last_login": "2999-05-05T00:00:00Z"}}, "user.last_login"),
    ],
)
def test_ids_over_the_byte_limit_and_implausible_times_are_rejected_with_a_reason(
    overrides: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(dumps(envelope(**overrides)), 1 << 20)
    assert reason in info.value.reason


def test_ids_at_the_byte_limit_and_times_within_a_day_of_now_are_fine() -> None:
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    event = parse(event_id="é" * 127 + "e", occurred_at=soon, user={"user_id": "é" * 256})
    assert len(event.event_id.encode()) == 255 and len(event.user.user_id.encode()) == 512
