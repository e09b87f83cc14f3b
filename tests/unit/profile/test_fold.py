import random
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import APPLIED_EVENTS_KEPT, BEHAVIOR_KINDS_KEPT, OTHER_BEHAVIOR
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 11, 29, tzinfo=UTC)
TAXONOMY = Taxonomy.load()


def _history() -> list[Event]:
    base = {"user_id": "facebook|7", "created_at": "2026-03-01T08:00:00Z"}
    raw = [
        envelope(
            type="auth.signup",
            occurred_at="2026-03-01T08:00:00Z",
            user=base | {"gender": "male", "email": "a@x.io", "logins_count": 1},
        )
    ]
    raw += [
        envelope(
            type="auth.login",
            occurred_at=f"2026-03-{d:02d}T08:00:00Z",
            user=base
            | {
                "email": f"v{d}@x.io",
                "logins_count": d,
                "likes": [{"name": "Strava"}] if d == 9 else [],
            },
        )
        for d in range(2, 12)
    ]
    raw += [
        envelope(
            type="auth.login_failed",
            occurred_at="2026-03-05T09:00:00Z",
            user={"user_id": "facebook|7"},
        ),
        envelope(
            type="behavior.cart_item_added",
            occurred_at="2026-03-06T09:00:00Z",
            user={"user_id": "facebook|7"},
            data={"category": "Hiking boots"},
        ),
        envelope(
            type="profile.sentiment",
            occurred_at="2026-03-07T09:00:00Z",
            user={"user_id": "facebook|7"},
            data={"score": -0.6, "label": "negative"},
        ),
        envelope(
            type="profile.sentiment",
            occurred_at="2026-03-03T09:00:00Z",
            user={"user_id": "facebook|7"},
            data={"score": 0.9, "label": "positive"},
        ),
    ]
    return [Event.model_validate_json(orjson.dumps(e)) for e in raw]


def folded(chunks: list[list[Event]]) -> dict[str, object]:
    profile = None
    for chunk in chunks:
        profile, _ = fold(profile, chunk, TAXONOMY, NOW)
    assert profile is not None
    document = profile.document()
    document.pop("applied_events")
    document.pop("version")  # counts writes, so it depends on the batching by design
    return document


HISTORY = _history()


def history() -> list[Event]:
    return list(HISTORY)  # the same events (same ids) every time


EXPECTED = folded([history()])


def test_the_fold_applies_the_merge_rules() -> None:
    assert EXPECTED["email"] == "v11@x.io"  # last writer wins
    assert EXPECTED["logins_count"] == 11
    assert EXPECTED["counters"] == {
        "signups": 1,
        "logins": 10,
        "failed_logins": 1,
        "behaviors": 1,
    }
    assert EXPECTED["behaviors"] == [
        {"action": "cart_item_added", "count": 1, "last_at": "2026-03-06T09:00:00Z"}
    ]
    assert EXPECTED["first_seen"] == "2026-03-01T08:00:00Z"
    assert EXPECTED["last_login"] == "2026-03-11T08:00:00Z"
    assert EXPECTED["returned"] is True
    assert EXPECTED["sentiment"]["label"] == "negative"  # the newer block wins  # type: ignore[index]
    assert EXPECTED["interest_sources"] == {
        "fitness": ["facebook"],
        "outdoors": ["behavior"],
        "running": ["facebook"],
    }


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=5))
def test_any_order_and_any_batching_fold_to_the_same_profile(rng: random.Random, cuts: int) -> None:
    events = history()
    rng.shuffle(events)
    positions = sorted(rng.sample(range(1, len(events)), cuts))
    chunks = [events[a:b] for a, b in zip([0, *positions], [*positions, len(events)], strict=True)]
    assert folded(chunks) == EXPECTED


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_redelivered_events_are_never_counted_twice(rng: random.Random) -> None:
    events = history()
    redelivered = events + rng.sample(events, len(events) // 2)
    rng.shuffle(redelivered)
    assert folded([redelivered[:7], redelivered[7:]]) == EXPECTED


def test_a_fold_that_adds_nothing_reports_no_new_events() -> None:
    profile, applied = fold(None, history(), TAXONOMY, NOW)
    again, applied_again = fold(profile, history(), TAXONOMY, NOW)
    assert len(applied) == len(history()) and applied_again == []
    assert again == profile
    assert len(profile.applied_events) <= APPLIED_EVENTS_KEPT


def test_a_log_stream_login_counts_but_does_not_overwrite_the_profile() -> None:
    later = envelope(
        type="auth.login",
        occurred_at="2026-04-01T08:00:00Z",
        source="auth0-log-stream",
        user={"user_id": "facebook|7", "name": "a@x.io", "email": "a@x.io"},
    )
    profile, _ = fold(None, history(), TAXONOMY, NOW)
    after, applied = fold(profile, [Event.model_validate(later)], TAXONOMY, NOW)
    assert len(applied) == 1
    assert after.counters["logins"] == profile.counters["logins"] + 1
    assert after.last_login is not None and after.last_login.month == 4
    assert profile.email == "v11@x.io" and after.email == "v11@x.io"  # not the log's user_name
    assert after.auth0 == profile.auth0 and after.identity_updated_at == profile.identity_updated_at


def _event(**fields: object) -> Event:
    return Event.model_validate(envelope(**fields))


def test_a_sparse_update_changes_only_what_it_mentions() -> None:
    full = _event(
        type="auth.login",
        occurred_at="2026-04-01T08:00:00Z",
        user={
            "user_id": "auth0|9",
            "email": "zoe@x.io",
            "name": "Zoe",
            "gender": "female",
            "app_metadata": {"marketing_consent": False, "plan": "gold"},
            "user_metadata": {"interests": ["running"]},
        },
    )
    sparse = _event(
        type="user.updated",
        source="app",
        occurred_at="2026-04-02T08:00:00Z",
        user={"user_id": "auth0|9", "name": "Zoë R.", "app_metadata": {"plan": "platinum"}},
    )
    profile, _ = fold(None, [full, sparse], TAXONOMY, NOW)
    assert profile.name == "Zoë R."
    assert (profile.email, profile.gender) == ("zoe@x.io", "female")
    assert profile.auth0["app_metadata"] == {"marketing_consent": False, "plan": "platinum"}
    assert profile.marketing_consent == "refused"  # the sparse update did not erase the refusal
    assert profile.consent.source == "auth0-action: app_metadata.marketing_consent"
    assert "running" in profile.interests


@pytest.mark.parametrize("refusal", ["false", 0, "refused", "no", "opt-out"])
def test_refusals_in_any_spelling_stick_until_an_explicit_later_grant(refusal: object) -> None:
    def consent_event(day: int, value: object) -> Event:
        return _event(
            type="user.updated",
            occurred_at=f"2026-05-{day:02d}T08:00:00Z",
            user={"user_id": "auth0|c", "user_metadata": {"marketing_opt_in": value}},
        )

    refused, _ = fold(None, [consent_event(2, refusal)], TAXONOMY, NOW)
    assert refused.marketing_consent == "refused"
    replayed_grant, _ = fold(refused, [consent_event(1, True)], TAXONOMY, NOW)
    assert replayed_grant.marketing_consent == "refused"  # an older grant arriving late
    granted, _ = fold(refused, [consent_event(3, "yes")], TAXONOMY, NOW)
    assert granted.marketing_consent == "granted"
    assert granted.consent.at is not None and granted.consent.at.day == 3


def test_a_late_event_is_still_recognised_after_many_later_ones() -> None:
    first = _event(type="auth.login", occurred_at="2026-01-01T00:00:00Z")
    profile, _ = fold(None, [first], TAXONOMY, NOW)
    for n in range(APPLIED_EVENTS_KEPT - 1):
        later = _event(type="auth.login", occurred_at=f"2026-02-01T00:{n // 60:02d}:{n % 60:02d}Z")
        profile, _ = fold(profile, [later], TAXONOMY, NOW)
    assert profile.counters["logins"] == APPLIED_EVENTS_KEPT
    again, applied = fold(profile, [first], TAXONOMY, NOW)  # still in the window: not counted
    assert applied == [] and again.counters["logins"] == APPLIED_EVENTS_KEPT
    pushed_out, _ = fold(profile, [_event(type="auth.login")], TAXONOMY, NOW)
    assert len(pushed_out.applied_events) == APPLIED_EVENTS_KEPT
    # The window is what a late `dlq replay` relies on: past it, a replayed event counts again.
    replayed, applied = fold(pushed_out, [first], TAXONOMY, NOW)
    assert len(applied) == 1 and replayed.counters["logins"] == APPLIED_EVENTS_KEPT + 2


def test_invented_behaviour_names_cannot_grow_a_profile_without_bound() -> None:
    events = [
        _event(type=f"behavior.made_up_{n}", occurred_at="2026-06-01T00:00:00Z")
        for n in range(BEHAVIOR_KINDS_KEPT + 50)
    ]
    profile, _ = fold(None, events, TAXONOMY, NOW)
    assert len(profile.behaviors) == BEHAVIOR_KINDS_KEPT
    other = next(b for b in profile.behaviors if b.action == OTHER_BEHAVIOR)
    assert other.count == 51  # the last place is kept for everything past the first 99
    assert sum(b.count for b in profile.behaviors) == len(events)
    assert set(profile.counters) == {"behaviors"}


def test_behaviour_counts_are_listed_in_one_order_whatever_the_arrival() -> None:
    """Found by fuzzing: the list followed the order actions were first seen in."""
    cart = _event(type="behavior.cart_item_added", occurred_at="2026-06-01T00:00:00Z")
    page = _event(type="behavior.page_viewed", occurred_at="2026-06-01T00:00:00Z")
    one, _ = fold(fold(None, [page], TAXONOMY, NOW)[0], [cart], TAXONOMY, NOW)
    other, _ = fold(fold(None, [cart], TAXONOMY, NOW)[0], [page], TAXONOMY, NOW)
    assert [b.action for b in one.behaviors] == ["cart_item_added", "page_viewed"]
    assert one.behaviors == other.behaviors


def test_two_findings_of_one_instant_fold_to_the_same_block_in_either_order() -> None:
    """Found by fuzzing: of two enrichments made at the same time, the last folded won."""
    answers = [
        _event(
            type="profile.enriched",
            occurred_at="2026-03-01T09:00:00Z",
            source="authstream",
            data={"provider": "fullcontact", "status": "enriched", "response": response},
        )
        for response in ({"gender": "Female"}, {"gender": "male"})
    ]
    one, _ = fold(fold(None, answers[:1], TAXONOMY, NOW)[0], answers[1:], TAXONOMY, NOW)
    other, _ = fold(fold(None, answers[1:], TAXONOMY, NOW)[0], answers[:1], TAXONOMY, NOW)
    assert one.enrichment == other.enrichment and one.gender == other.gender


def test_one_segment_entry_announced_twice_keeps_the_earliest_moment_in_either_order() -> None:
    """Found by fuzzing: of two announcements of entry #1, the first folded set entered_at."""
    entries = [
        _event(
            type="segment.entered",
            occurred_at=f"2026-03-01T0{hour}:00:00Z",
            source="authstream",
            data={"segment": "preorder-running-men", "transition": 1},
        )
        for hour in (8, 9)
    ]
    one, _ = fold(fold(None, entries[:1], TAXONOMY, NOW)[0], entries[1:], TAXONOMY, NOW)
    other, _ = fold(fold(None, entries[1:], TAXONOMY, NOW)[0], entries[:1], TAXONOMY, NOW)
    assert one.segments == other.segments
    assert [m.entered_at.hour for m in one.segments] == [8]
