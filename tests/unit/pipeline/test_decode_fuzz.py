"""Fuzzing the envelope parser: any bytes, and envelopes wrong in every way a publisher can get
them wrong, either decode to an event that keeps the contract or are refused with a clear reason.
Nothing else may come out of ``decode_event`` (an exception there would stop a worker's batch)."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from consumers.core.errors import InvalidEvent
from consumers.pipeline.decode import decode_event
from schemas import Event
from schemas.auth0 import IDP_SECRET_KEYS
from schemas.envelope import EVENT_TYPE_PATTERN, SCHEMA_ID
from schemas.types import CLOCK_SKEW, EARLIEST, MAX_EVENT_ID_BYTES, MAX_ID_BYTES
from tests.fuzz import fuzz
from tests.strategies import MARKER, envelopes, json_values, mutate, mutations, to_json

LIMIT = 1 << 20
MAX_REASON_CHARS = 600
# A reason says where (a field path) and why, or names the body as a whole.
CLEAR_REASON = re.compile(
    r"^(Invalid JSON: |event is [\d,]+ bytes, over |unsupported schema |Input should be "
    r"|[A-Za-z_$][\w.$-]*: )"
)


def assert_clear(reason: str) -> None:
    assert reason.strip() == reason and reason, repr(reason)
    assert "\n" not in reason and len(reason) <= MAX_REASON_CHARS, reason[:200]
    assert CLEAR_REASON.match(reason), reason
    assert "Traceback" not in reason and " object at 0x" not in reason, reason


def assert_keeps_the_contract(event: Event) -> None:
    assert event.schema_id == SCHEMA_ID
    assert 1 <= len(event.event_id.encode("utf-8")) <= MAX_EVENT_ID_BYTES
    assert 1 <= len(event.user.user_id.encode("utf-8")) <= MAX_ID_BYTES
    assert re.fullmatch(EVENT_TYPE_PATTERN, event.type) and len(event.type) <= 128
    assert (
        event.occurred_at.tzinfo is not None and event.occurred_at.utcoffset().total_seconds() == 0
    )  # type: ignore[union-attr]
    assert EARLIEST <= event.occurred_at <= datetime.now(UTC) + CLOCK_SKEW
    for identity in event.user.identities:
        assert not IDP_SECRET_KEYS & set(identity.model_dump(exclude_none=True))
    # Every writer (event documents, profiles, derived events) can write it out, and what it
    # writes decodes to the same event.
    orjson.dumps(event.model_dump(mode="json"))
    assert decode_event(event.model_dump_json().encode(), LIMIT) == event


def decode_or_reason(body: bytes) -> Event | str:
    try:
        event = decode_event(body, LIMIT)
    except InvalidEvent as exc:
        assert exc.body == body  # parked as sent
        assert_clear(exc.reason)
        return exc.reason
    assert_keeps_the_contract(event)
    return event


@fuzz(4)
@given(st.binary(max_size=2_000))
@example(b"")
@example(b"\xff\xfe{}")
@example(b'{"schema": "authstream.event/1", "event_id": 123456789012345678901234567890}')
@example(b"[" * 5_000 + b"]" * 5_000)
def test_any_bytes_decode_or_are_refused_with_a_clear_reason(body: bytes) -> None:
    decode_or_reason(body)


@fuzz(2)
@given(json_values)
def test_any_json_document_decodes_or_is_refused_with_a_clear_reason(document: Any) -> None:
    decode_or_reason(to_json(document))


@fuzz(1)
@given(envelopes)
def test_every_envelope_that_keeps_the_contract_is_accepted(document: dict[str, Any]) -> None:
    outcome = decode_or_reason(to_json(document))
    assert isinstance(outcome, Event), outcome


@fuzz(2)
@given(envelopes, st.lists(mutations, min_size=1, max_size=4))
def test_wrong_envelopes_are_refused_with_a_reason_that_names_no_value(
    document: dict[str, Any], changes: list[Any]
) -> None:
    for change in changes:
        mutate(document, change)
    outcome = decode_or_reason(to_json(document))
    if isinstance(outcome, str):
        assert MARKER not in outcome, outcome


@fuzz(1)
@given(envelopes, st.lists(mutations, max_size=3))
def test_an_envelope_read_from_bytes_is_what_validating_its_objects_gives(
    document: dict[str, Any], changes: list[Any]
) -> None:
    """Decoding validates straight from the JSON (no validator makes pydantic build the objects
    first); validating the parsed objects, the way such validators did, is the reference: the
    same event, or refused for the same fields (JSON says "array" where Python says "list")."""
    for change in changes:
        mutate(document, change)
    body = to_json(document)
    outcomes: list[Event | set[tuple[Any, ...]]] = []
    for validate in (
        lambda: Event.model_validate(json.loads(body)),
        lambda: Event.model_validate_json(body),
    ):
        try:
            outcomes.append(validate())
        except ValidationError as exc:
            # Too deep for the JSON parser: refused before any field is read, before as now.
            assume(not any(e["type"] == "json_invalid" for e in exc.errors()))
            outcomes.append({tuple(e["loc"]) for e in exc.errors()})
    reference, decoded = outcomes
    assert decoded == reference
