"""Real-time membership: entries and exits, their numbers and ids, and how the fold keeps them."""

import itertools
from datetime import UTC, date, datetime, timedelta

import orjson

from consumers.core.settings import Settings
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.segments.definitions import load_segments
from consumers.segments.membership import (
    Evaluator,
    Transition,
    announcement,
    profile_fields_read,
    transitions,
)
from consumers.stages.derived import Change, changed_fields
from consumers.stages.segments import membership_may_change
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEGMENTS = load_segments()
EVALUATOR = Evaluator(SEGMENTS.values())


def runner(**extra: object) -> Profile:
    fields: dict[str, object] = {
        "user_id": "facebook|1",
        "email": "ron@example.com",
        "name": "Ron",
        "tenant": "innovashoes",
        "gender": "male",
        "birth_date": date(1996, 5, 1),
        "interests": ["fitness"],
        "signed_up_at": NOW - timedelta(days=1),
        "last_login": NOW - timedelta(days=1),
    }
    return Profile.model_validate(fields | extra)


def due(profile: Profile, now: datetime = NOW) -> list[tuple[str, str, int]]:
    qualifying = EVALUATOR.qualifying(profile, now)
    return [
        (t.segment, t.kind, t.number) for t in transitions(profile, qualifying, EVALUATOR.names)
    ]


def event_of(profile: Profile, segment: str, kind: str, number: int, at: datetime) -> Event:
    transition = Transition(profile.user_id, segment, kind, number)  # type: ignore[arg-type]
    return Event.model_validate_json(announcement(profile, transition, at, "x").body)


def test_a_qualifying_profile_is_due_to_enter_once_recorded_it_is_not() -> None:
    profile = runner()
    assert due(profile) == [("preorder-running-men", "entered", 1)]
    member = profile.model_copy(update={"segment_transitions": {"preorder-running-men": 1}})
    assert due(member) == []
    refused = member.model_copy(update={"marketing_consent": "refused"})
    assert due(refused) == [("preorder-running-men", "left", 2)]
    # Time alone: a week later, without a return, the user has not returned.
    assert ("registered-not-returned", "entered", 1) in due(profile, NOW + timedelta(days=8))


def test_an_erased_user_qualifies_for_nothing_and_is_announced_nothing() -> None:
    tombstone = Profile(user_id="facebook|1", deleted_at=NOW)
    assert EVALUATOR.qualifying(tombstone, NOW) == set()
    assert due(tombstone) == []


def test_the_same_transition_has_the_same_id_whoever_computes_it_and_when() -> None:
    profile = runner()
    first = announcement(
        profile,
        transitions(profile, {"preorder-running-men"}, ["preorder-running-men"])[0],
        NOW,
        "x",
    )
    later = profile.model_copy(update={"version": 7, "last_seen": NOW})
    again = announcement(
        later,
        transitions(later, {"preorder-running-men"}, ["preorder-running-men"])[0],
        NOW + timedelta(seconds=5),
        "x",
    )
    assert first.message_id == again.message_id
    assert first.routing_key == "segment.preorder-running-men.entered"
    body = orjson.loads(first.body)
    assert body["type"] == "segment.entered"
    assert body["user"] == {"user_id": "facebook|1", "email": "ron@example.com", "name": "Ron"}
    assert body["data"] == {"segment": "preorder-running-men", "transition": 1}
    Event.model_validate(body)  # a valid authstream.event/1 envelope


def test_folding_entries_and_exits_in_any_order_gives_the_latest_state() -> None:
    profile = runner(last_seen=NOW - timedelta(days=3))
    segment = "preorder-running-men"
    history = [
        event_of(profile, segment, "entered", 1, NOW),
        event_of(profile, segment, "left", 2, NOW + timedelta(hours=1)),
        event_of(profile, segment, "entered", 3, NOW + timedelta(hours=2)),
    ]
    for order in itertools.permutations(history):
        folded, applied = fold(profile, list(order), Taxonomy.load(), NOW)
        assert folded.segment_transitions == {segment: 3}
        assert [(m.name, m.entered_at) for m in folded.segments] == [
            (segment, NOW + timedelta(hours=2))
        ]
        # An announcement is not the user being seen: last_seen stays (no feedback loop).
        assert folded.last_seen == NOW - timedelta(days=3)
        assert len(applied) == 3
    once, _ = fold(profile, history[:1], Taxonomy.load(), NOW)
    assert {"segments", "segment_transitions"} <= set(changed_fields(profile, once))
    twice, applied = fold(once, history[:1], Taxonomy.load(), NOW)
    assert applied == [] and twice.segments == once.segments  # a redelivery changes nothing


def test_the_index_stage_derives_profile_changed_only_when_a_segment_could_care() -> None:
    profile = runner()
    login = profile.model_copy(
        update={"last_login": NOW, "last_seen": NOW, "counters": {"logins": 2}}
    )
    consent = profile.model_copy(update={"marketing_consent": "refused"})
    entered = profile.model_copy(update={"segment_transitions": {"preorder-running-men": 1}})
    cause = Event.model_validate(envelope(type="auth.login", user={"user_id": "facebook|1"}))

    def derived(after: Profile) -> list[str]:
        change = Change(profile, after, cause, changed_fields(profile, after), NOW)
        return [d.routing_key for d in membership_may_change(change, Settings())]

    # The built-in segments read neither last_login, last_seen nor the login counter...
    assert derived(login) == []
    # ...but consent, and membership itself (an announcement folded is evaluated again).
    assert derived(consent) == ["profile.changed"]
    assert derived(entered) == ["profile.changed"]
    assert profile_fields_read(SEGMENTS.values()) == {
        "birth_date",
        "email",
        "gender",
        "interests",
        "marketing_consent",
        "returned",
        "sentiment",
        "signed_up_at",
        "twitter_handle",
        "segments",
        "segment_transitions",
        "deleted_at",
    }
