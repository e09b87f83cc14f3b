"""Fuzzing the Log Stream record → envelope mapping, as the ingest endpoint uses it: a record
shaped as Auth0 writes it always becomes a valid event (its ``log_id`` the event id); anything
else is skipped with a short, clear reason, and never raises anything else."""

from typing import Any

from hypothesis import example, given

from consumers.core.errors import InvalidEvent
from consumers.ingest.auth0_logs import as_json, envelope_from
from consumers.pipeline.decode import decode_event
from tests.fuzz import fuzz
from tests.strategies import log_records, nested, sound_log_records

MAX_REASON_CHARS = 300


def to_event_or_reason(record: Any) -> str | None:
    """None when the record became a valid event (as the server builds it), else the reason."""
    try:
        event = decode_event(as_json(envelope_from(record, "innovashoes")), 1 << 20)
    except InvalidEvent as exc:
        assert exc.reason and "\n" not in exc.reason, repr(exc.reason)
        assert len(exc.reason) <= MAX_REASON_CHARS, exc.reason[:200]
        return exc.reason
    log_id = record.get("log_id") or record["data"].get("log_id")
    assert event.event_id == log_id and event.source == "auth0-log-stream"
    return None


@fuzz(1)
@given(sound_log_records)
def test_a_record_shaped_as_auth0_writes_it_always_becomes_an_event(record: dict[str, Any]) -> None:
    assert to_event_or_reason(record) is None


@fuzz(2)
@given(log_records())
@example({"data": {"type": "s"}, "log_id": "x" * 2_000})
@example({"log_id": "9" * 5_000})
@example(
    {"log_id": "9001", "data": {"date": "2026-01-01T00:00:00Z", "type": "s", "ip": nested(253)}}
)
def test_any_record_becomes_an_event_or_is_skipped_with_a_clear_reason(record: Any) -> None:
    to_event_or_reason(record)
