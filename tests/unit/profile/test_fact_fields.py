"""The remembered fact fields are exactly what deriving them again gives: for any sources, on a
miss and on a hit, whatever else the snapshot says in the keys no fact reads, and whatever the
order of the keys. And the keys left out of the sources are really read by no fact."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from consumers.profile import fact_fields
from consumers.profile.fact_fields import (
    UNREAD_KEYS,
    derive_fields,
    fields_of,
    remembered_fields,
    sources_digest,
)
from consumers.profile.facts import Blob, Origin, Taxonomy, facts_from
from consumers.profile.fold import fold
from consumers.profile.model import Provenance
from schemas import Event
from tests.fuzz import fuzz
from tests.strategies import json_values
from tests.unit.profile.test_facts_fuzz import blobs, geos, observed_days, profiles

TAXONOMY = Taxonomy.load()
# Values that would mean something if a fact read them: dates, counts, places, handles.
TEMPTING = st.one_of(
    json_values,
    st.sampled_from(["1990-08-31", "08/31/1990", "34", "@amy_runs", "Portland, Oregon", "F"]),
    st.integers(0, 120),
    st.fixed_dictionaries({"country_code": st.just("FR"), "city": st.just("Lyon")}),
)
unread = st.dictionaries(st.sampled_from(sorted(UNREAD_KEYS)), TEMPTING, min_size=1)


def user_blob(data: dict[str, Any], day: date) -> Blob:
    return Blob(data, Origin("auth0", day), "user")


@fuzz(1.0)
@given(profiles, unread, st.lists(blobs, max_size=2), geos, observed_days)
def test_the_unread_keys_change_no_fact(
    data: dict[str, Any], extra: dict[str, Any], enrichment: list[Blob], geo: Blob | None, day: date
) -> None:
    full = user_blob(data | extra, day)
    without = user_blob({k: v for k, v in data.items() if k not in UNREAD_KEYS}, day)
    assert fields_of(facts_from(full, enrichment, geo, TAXONOMY)) == fields_of(
        facts_from(without, enrichment, geo, TAXONOMY)
    )


@fuzz(1.0)
@given(profiles, unread, unread, st.lists(blobs, max_size=2), geos, observed_days)
def test_remembered_fields_equal_derived_ones_on_a_miss_and_on_a_hit(
    data: dict[str, Any],
    first: dict[str, Any],
    second: dict[str, Any],
    enrichment: list[Blob],
    geo: Blob | None,
    day: date,
) -> None:
    fact_fields._CACHES.clear()
    slow = derive_fields(user_blob(data | first, day), enrichment, geo, TAXONOMY)
    missed = remembered_fields(user_blob(data | first, day), enrichment, geo, TAXONOMY)
    # The same sources with other unread values, and the keys in another order: a hit.
    reordered = dict(reversed(list((data | second).items())))
    hit = remembered_fields(user_blob(reordered, day), enrichment, geo, TAXONOMY)
    assert missed == slow
    assert hit == slow
    assert hit is missed or sources_digest(user_blob(data, day), enrichment, geo) is None


@given(profiles, st.lists(blobs, max_size=2), geos, observed_days, observed_days)
def test_a_source_seen_another_day_is_another_entry(
    data: dict[str, Any], enrichment: list[Blob], geo: Blob | None, day: date, other: date
) -> None:
    one = sources_digest(user_blob(data, day), enrichment, geo)
    two = sources_digest(user_blob(data, other), enrichment, geo)
    assert (one == two) == (day == other) or one is None


def test_sources_that_are_not_plain_json_are_derived_without_the_cache() -> None:
    data = {"age": 2**70, "gender": "F"}  # beyond 64 bits: orjson cannot encode it
    user = user_blob(data, date(2026, 1, 1))
    assert sources_digest(user, [], None) is None
    assert remembered_fields(user, [], None, TAXONOMY) == derive_fields(user, [], None, TAXONOMY)


def test_a_full_cache_lets_the_least_recently_used_answer_go(monkeypatch: Any) -> None:
    monkeypatch.setattr(fact_fields, "CACHE_LIMIT", 3)
    fact_fields._CACHES.clear()
    users = [user_blob({"gender": "F", "age": 20 + n}, date(2026, 1, 1)) for n in range(5)]
    for n in (0, 1, 2, 0, 3, 4):  # 0 is used again before 3 comes: 1 and 2 go
        fields = remembered_fields(users[n], [], None, TAXONOMY)
        assert fields == derive_fields(users[n], [], None, TAXONOMY)
        assert len(fact_fields._CACHES[TAXONOMY]) <= 3
    kept = set(fact_fields._CACHES[TAXONOMY])
    assert kept == {sources_digest(users[n], [], None) for n in (0, 3, 4)}


@given(profiles, observed_days)
def test_a_shared_provenance_record_is_the_one_made_from_the_fact(
    data: dict[str, Any], day: date
) -> None:
    facts = facts_from(user_blob(data, day), [], None, TAXONOMY)
    for fact in (facts.gender, facts.birth, facts.twitter_handle, facts.location):
        if fact is not None:
            assert fact_fields._provenance(fact) == Provenance.model_validate(fact.provenance())


def login(n: int, extra: dict[str, Any]) -> Event:
    at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=n)
    return Event.model_validate_json(
        orjson.dumps(
            {
                "schema": "authstream.event/1",
                "event_id": f"evt-{n}",
                "type": "auth.login",
                "occurred_at": at.isoformat(),
                "user": {"user_id": "facebook|1", "logins_count": n, **extra},
                "context": {"geo": {"country_code": "FR", "city": "Lyon"}},
            }
        )
    )


said = st.dictionaries(
    st.sampled_from(["gender", "birthday", "screen_name", "last_ip", "location"]),
    st.sampled_from(["F", "male", "1990-08-31", "08/31/1990", "amy_runs", "Portland, Oregon"]),
)


@given(st.lists(said, max_size=6))
def test_a_fold_gives_the_same_profile_with_or_without_remembered_fields(
    extras: list[dict[str, Any]],
) -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    events = [login(n, extra) for n, extra in enumerate(extras)] or [login(0, {})]
    fact_fields._CACHES.clear()
    cold = None
    for event in events:  # one event per fold: every fold after the first may hit
        cold, _ = fold(cold, [event], TAXONOMY, now)
        fact_fields._CACHES.clear()  # the slow path every time
    warm = None
    for event in events:
        warm, _ = fold(warm, [event], TAXONOMY, now)
    assert warm is not None and cold is not None
    assert warm.document() == cold.document()
