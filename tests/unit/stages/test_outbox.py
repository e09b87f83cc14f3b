"""The profile's outbox keeps each derived event as the JSON it is published as; profiles written
before that kept the envelope as an object, and their entries publish the same bytes as then."""

from datetime import UTC, datetime

import orjson

from consumers.profile.model import Profile
from consumers.stages.derived import derived_event, record, to_publish
from schemas import Event
from tests.helpers import envelope

CAUSE = Event.model_validate(envelope(occurred_at="2026-11-30T10:00:00Z"))
USER = CAUSE.user.user_id


def test_an_entry_is_published_as_it_was_made() -> None:
    made = derived_event("enrich.requested", CAUSE, USER, {"provider": "x"}, "enrich.requested.x")
    profile = Profile(user_id=USER)
    record(profile, [made])
    stored = Profile.model_validate_json(profile.document_json())
    [emit] = to_publish(stored, [CAUSE], "authstream.derived")
    assert orjson.loads(emit.body) == made.body
    assert made.body["data"] == {"provider": "x"} and made.body["type"] == "enrich.requested"
    assert (emit.type, emit.routing_key, emit.message_id) == (
        "enrich.requested",
        "enrich.requested.x",
        made.event_id,
    )


def test_an_entry_written_with_its_envelope_as_an_object_publishes_the_same_bytes() -> None:
    made = derived_event("profile.changed", CAUSE, USER, {"changed": ["email"], "version": 2})
    old_entry = {
        "event_id": made.event_id,
        "routing_key": "profile.changed",
        "caused_by": made.caused_by,
        "body": made.body,
    }
    stored = Profile.model_validate(
        {"user_id": USER, "outbox": [old_entry], "updated_at": datetime(2026, 11, 29, tzinfo=UTC)}
    )
    [emit] = to_publish(stored, [CAUSE], "authstream.derived")
    assert emit.body == orjson.dumps(made.body) == made.message.encode()
    assert emit.type == "profile.changed"
    written = orjson.loads(stored.document_json())["outbox"][0]
    assert "body" not in written and orjson.loads(written["message"]) == made.body
