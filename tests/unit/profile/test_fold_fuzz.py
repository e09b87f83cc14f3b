"""Fuzzing the fold: any events of one user, in any order and any batching, fold to the same
profile; a redelivery never counts twice; and no valid envelope, however odd, makes the fold raise
or write a profile that cannot be read back."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from consumers.pipeline.decode import decode_event
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from consumers.stages.index import event_document
from schemas import Event
from tests.fuzz import fuzz
from tests.strategies import KNOWN_TYPES, envelopes, sound_json_values, to_json

TAXONOMY = Taxonomy.load()
NOW = datetime(2026, 11, 29, tzinfo=UTC)
USER = "facebook|10001"
# Few distinct instants, so that events often share one (ties are where order creeps in).
INSTANTS = [datetime(2026, 3, 1, 8, tzinfo=UTC) + timedelta(hours=h) for h in (0, 1, 1, 30, 200)]
FULLCONTACT = {
    "ageRange": "25-34",
    "gender": "Female",
    "details": {
        "interests": [{"name": "Yoga", "category": "Fitness"}],
        "locations": [{"city": "Lyon", "countryCode": "FR"}],
        "profiles": {"twitter": {"username": "amy_runs"}},
    },
}

profile_payloads = st.fixed_dictionaries(
    {"user_id": st.just(USER)},
    optional={
        "email": st.sampled_from(["a@x.io", "B@X.io", " c@x.io "]),
        "email_verified": st.booleans(),
        "name": st.sampled_from(["Amy", "Amy R.", "Zoë"]),
        "gender": st.sampled_from(["female", "F", "male"]),
        "birthday": st.sampled_from(["08/31/1990", "1991-01-02", "1990"]),
        "age": st.integers(18, 70),
        "logins_count": st.integers(0, 50),
        "created_at": st.sampled_from(INSTANTS).map(datetime.isoformat),
        "last_login": st.sampled_from(INSTANTS).map(datetime.isoformat),
        "likes": st.lists(
            st.sampled_from([{"name": "Strava"}, {"name": "Hiking club"}]), max_size=2
        ),
        "location": st.sampled_from(["Paris, France", {"name": "Portland, Oregon"}]),
        "identities": st.lists(
            st.fixed_dictionaries(
                {"provider": st.sampled_from(["facebook", "twitter"])},
                optional={"profileData": st.fixed_dictionaries({"screen_name": st.just("amy")})},
            ),
            max_size=2,
        ),
        "user_metadata": st.fixed_dictionaries(
            {},
            optional={
                "interests": st.lists(st.sampled_from(["running", "music"]), max_size=2),
                "marketing_opt_in": st.sampled_from([True, False, "no", "yes", None]),
                "fullcontact": st.just(FULLCONTACT),
            },
        ),
        "app_metadata": st.fixed_dictionaries(
            {}, optional={"marketing_consent": st.sampled_from([True, False, "refused"])}
        ),
    },
)


# What a profile is folded from; an erasure or an unknown Auth0 log type would only add noise.
FOLDED_TYPES = [t for t in KNOWN_TYPES if t not in ("user.deleted", "auth0.gd_send_sms")]


@st.composite
def user_events(draw: st.DrawFn) -> dict[str, Any]:
    """One event of the user: a kind, an instant, and what such an event carries."""
    kind = draw(st.sampled_from(FOLDED_TYPES))
    event: dict[str, Any] = {
        "schema": "authstream.event/1",
        "event_id": draw(st.uuids()).hex,
        "type": kind,
        "occurred_at": draw(st.sampled_from(INSTANTS)).isoformat(),
        "source": draw(st.sampled_from(["auth0-action", "auth0-log-stream", "app"])),
        "tenant": "innovashoes",
        "user": draw(profile_payloads),
        "context": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "connection": st.sampled_from(["facebook", "Username-Password-Authentication"]),
                    "geo": st.sampled_from(
                        [{"country_code": "fr", "city": "Lyon"}, {"city": "Oslo"}]
                    ),
                },
            )
        ),
    }
    if kind.startswith("behavior."):
        event["data"] = {"category": draw(st.sampled_from(["Running shoes", "Tents", "Music"]))}
    elif kind == "profile.enriched":
        event["source"] = "authstream"
        event["data"] = {
            "provider": "fullcontact",
            "status": draw(st.sampled_from(["enriched", "not_found"])),
            "response": draw(st.sampled_from([FULLCONTACT, {"gender": "male"}])),
        }
    elif kind == "profile.sentiment":
        event["source"] = "authstream"
        event["data"] = {
            "label": draw(st.sampled_from(["negative", "positive"])),
            "score": draw(st.sampled_from([-0.5, 0.5])),
        }
    elif kind.startswith("segment."):
        event["source"] = "authstream"
        number = draw(st.integers(1, 4))
        event["data"] = {"segment": "preorder-running-men", "transition": number}
    return event


histories = st.lists(user_events(), min_size=1, max_size=12).map(
    lambda raw: [Event.model_validate_json(orjson.dumps(e)) for e in raw]
)


def folded(batches: list[list[Event]]) -> dict[str, Any]:
    profile = None
    for batch in batches:
        if batch:
            profile, _ = fold(profile, batch, TAXONOMY, NOW)
    assert profile is not None
    document = profile.document()
    document.pop("applied_events")  # the order events were folded in, by design
    document.pop("version")  # counts writes, so it depends on the batching by design
    return document


def batched(events: list[Event], rng: random.Random) -> list[list[Event]]:
    cuts = sorted(rng.sample(range(1, len(events) + 1), rng.randint(0, len(events))))
    return [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]


@fuzz(0.6)
@given(histories, st.randoms(use_true_random=False))
def test_any_order_and_any_batching_fold_to_the_same_profile(
    events: list[Event], rng: random.Random
) -> None:
    expected = folded([events])
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert folded(batched(shuffled, rng)) == expected


@fuzz(0.6)
@given(histories, st.randoms(use_true_random=False))
def test_a_redelivery_never_counts_twice(events: list[Event], rng: random.Random) -> None:
    expected = folded([events])
    again = events + [rng.choice(events) for _ in range(rng.randint(1, len(events)))]
    rng.shuffle(again)
    assert folded(batched(again, rng)) == expected


@fuzz(1)
@given(st.lists(envelopes, min_size=1, max_size=6), sound_json_values)
def test_odd_but_valid_envelopes_fold_into_a_profile_that_can_be_written_and_read_back(
    raw: list[dict[str, Any]], anything: Any
) -> None:
    for event in raw:
        event["user"]["user_id"] = USER  # one user's events, as the index stage folds them
    raw[0].setdefault("data", {})["response"] = anything  # whatever a finding carries
    events = [decode_event(to_json(e), 1 << 20) for e in raw]
    profile, applied = fold(None, events, TAXONOMY, NOW)
    assert len(applied) == len({e.event_id for e in events})
    document = profile.document()
    assert Profile.model_validate_json(orjson.dumps(document)).document() == document
    for event in events:
        orjson.dumps(event_document(event, NOW))
