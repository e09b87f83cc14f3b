"""A visitor's record (pure): holding events once, merging what a profile has not folded."""

from consumers.ingest.shop_events import envelope_from_shop
from consumers.profile import visitors
from consumers.profile.anonymous import claimed_visitors, visitor_of
from consumers.profile.model import Profile
from consumers.profile.visitors import VisitorRecord, note_merged
from schemas import Event
from tests.helpers import envelope

VISITOR = "3d2c1b0a-9f8e-4d7c-b6a5-visitor00001"


def viewed(n: int) -> Event:
    raw = {
        "type": "behavior.product_viewed",
        "anonymous_id": VISITOR,
        "occurred_at": f"2026-11-20T10:{n % 60:02d}:00Z",
        "event_id": f"v-{n}",
        "properties": {"category": "Running shoes"},
    }
    return Event.model_validate(envelope_from_shop(raw, "shop-web", None, {"user_agent": "x"}))


def test_events_are_held_once_in_order_and_without_their_context() -> None:
    record = VisitorRecord(anonymous_id=VISITOR)
    assert record.hold(viewed(1)) and record.hold(viewed(2))
    assert not record.hold(viewed(1))  # a redelivery
    assert [h.seq for h in record.pending] == [1, 2] and record.next_seq == 3
    assert "context" not in record.pending[0].event and "user" not in record.pending[0].event
    assert str(record.first_seen) == "2026-11-20 10:01:00+00:00"


def test_merging_gives_what_the_profile_has_not_folded_filed_under_the_user() -> None:
    record = VisitorRecord(anonymous_id=VISITOR)
    for n in range(1, 4):
        record.hold(viewed(n))
    merged = record.to_merge("auth0|u", None)
    assert [e.event_id for e in merged] == [viewed(n).event_id for n in range(1, 4)]
    assert {e.user.user_id for e in merged} == {"auth0|u"}
    assert merged[0].data["category"] == "Running shoes"
    halfway = Profile(user_id="auth0|u", visitors={VISITOR: 2})  # a crash after two
    assert [e.event_id for e in record.to_merge("auth0|u", halfway)] == [viewed(3).event_id]
    record.identify("auth0|u", merged[-1])
    assert (record.user_id, record.merged_through, record.pending) == ("auth0|u", 3, [])
    assert record.to_merge("auth0|u", None) == []
    assert record.has_seen(viewed(2))  # merged: a redelivery folds nothing again


def test_bounds() -> None:
    record = VisitorRecord(anonymous_id=VISITOR)
    for n in range(visitors.HELD_KEPT + 5):
        record.hold(viewed(n))
    assert len(record.pending) == visitors.HELD_KEPT and record.dropped == 5
    assert record.pending[0].seq == 6  # the newest are kept
    profile = Profile(user_id="auth0|u")
    records = [VisitorRecord(anonymous_id=f"visitor-{n:04d}") for n in range(60)]
    note_merged(profile, records)
    assert len(profile.visitors) == visitors.VISITORS_KEPT
    assert "visitor-0059" in profile.visitors and "visitor-0000" not in profile.visitors


def test_claims() -> None:
    assert visitor_of(f"anon:{VISITOR}") == VISITOR and visitor_of("auth0|u") is None
    login = Event.model_validate(envelope(data={"anonymous_id": VISITOR}))
    assert claimed_visitors(login) == [VISITOR]
    in_context = Event.model_validate(envelope(context={"anonymous_id": VISITOR}))
    assert claimed_visitors(in_context) == [VISITOR]
    assert claimed_visitors(Event.model_validate(envelope(data={"anonymous_id": "x"}))) == []
    assert claimed_visitors(viewed(1)) == []  # a visitor's own event claims nobody
