"""The index stage's shortcuts for a profile write give what the slow path gives: the fields that
changed (``changed_since``, ``set_fields``) are ``changed_between`` of the stored and the new
document, and the JSON written (``Profile.document_json``) is ``document()`` serialised."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from consumers.pipeline.decode import decode_event
from consumers.profile.fold import fold
from consumers.profile.model import Block, Profile
from consumers.stages.derived import (
    changed_between,
    changed_since,
    derived_event,
    record,
    set_fields,
)
from schemas import Event
from tests.fuzz import fuzz
from tests.helpers import envelope
from tests.strategies import envelopes, sound_json_values, to_json
from tests.unit.profile.test_fold_fuzz import NOW, TAXONOMY, USER, histories

AT = datetime(2026, 11, 1, tzinfo=UTC)


def read_back(profile: Profile) -> tuple[dict[str, Any], Profile]:
    """What the stage reads: the stored document, and the profile validated from it."""
    stored = orjson.loads(orjson.dumps(profile.document()))
    return stored, Profile.model_validate(stored)


@fuzz(0.5)
@given(histories, histories)
def test_the_changed_fields_are_those_of_the_documents(
    earlier: list[Event], later: list[Event]
) -> None:
    stored, before = read_back(fold(None, earlier, TAXONOMY, NOW)[0])
    after, _ = fold(before, later, TAXONOMY, NOW + timedelta(days=1))
    assert changed_since(before, after, stored) == changed_between(stored, after.document())


@fuzz(0.5)
@given(histories)
def test_a_new_profiles_fields_are_those_of_its_document(events: list[Event]) -> None:
    profile, _ = fold(None, events, TAXONOMY, NOW)
    assert set_fields(profile) == changed_between({}, profile.document())


@fuzz(0.5)
@given(st.lists(envelopes, min_size=1, max_size=6), sound_json_values, st.integers(0, 40))
def test_the_json_written_is_the_document(
    raw: list[dict[str, Any]], anything: Any, outbox: int
) -> None:
    for event in raw:
        event["user"]["user_id"] = USER
    raw[0].setdefault("data", {})["response"] = anything  # whatever a finding carries
    events = [decode_event(to_json(e), 1 << 20) for e in raw]
    profile, _ = fold(None, events, TAXONOMY, NOW)
    record(
        profile,
        [derived_event("profile.changed", events[0], USER, {"n": n}) for n in range(outbox)],
    )
    assert orjson.loads(profile.document_json()) == profile.document()


def decode(raw: dict[str, Any]) -> Event:
    return decode_event(json.dumps(raw).encode(), 1 << 20)  # writes NaN, as some publishers do


def finding(**extra: Any) -> Block:
    return Block.model_validate({"provider": "fullcontact", "updated_at": AT, **extra})


def test_what_json_writes_as_null_is_no_change() -> None:
    """Python sees NaN where the stored JSON has null, and a None extra where it has nothing."""
    stored, before = read_back(
        Profile(user_id=USER, enrichment={"fc": finding(note=None, score=math.nan)})
    )
    after = before.model_copy(update={"enrichment": {"fc": finding(note=None, score=math.nan)}})
    assert before.enrichment != after.enrichment
    assert changed_since(before, after, stored) == [] == changed_between(stored, after.document())


def test_a_nan_an_event_carries_is_no_change_either() -> None:
    """Publishers may write NaN (pydantic reads it): the snapshot keeps what JSON writes."""
    first, again = envelope(), envelope()
    for raw, minutes in ((first, 0), (again, 5)):
        raw["user"] |= {"user_id": USER, "score": math.nan, "tags": [math.inf, 1]}
        raw["occurred_at"] = (AT + timedelta(minutes=minutes)).isoformat()
    stored, before = read_back(fold(None, [decode(first)], TAXONOMY, NOW)[0])
    after, _ = fold(before, [decode(again)], TAXONOMY, NOW)
    assert changed_since(before, after, stored) == changed_between(stored, after.document())


def test_the_same_instant_written_another_way_is_a_change_as_before() -> None:
    """A block's time keeps the offset a finding gave: equal in Python, different in JSON."""
    stored, before = read_back(Profile(user_id=USER, enrichment={"fc": finding()}))
    later = Block.model_validate(
        {"provider": "fullcontact", "updated_at": "2026-11-01T02:00:00+02:00"}
    )
    after = before.model_copy(update={"enrichment": {"fc": later}})
    assert before.enrichment == after.enrichment
    expected = changed_between(stored, after.document())
    assert changed_since(before, after, stored) == expected == ["enrichment"]
