"""Fuzzing the profile facts: whatever shape a profile, a provider or a rule gives them, the fact
functions never raise, and every fact they derive has the type, range and spelling the profile
mapping and the segments expect. Known spellings are always understood."""

import re
from datetime import date, timedelta
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from consumers.profile.facts import Blob, Origin, Taxonomy, facts_from
from consumers.profile.facts.birth import from_age, from_age_range, parse_birthday
from consumers.profile.facts.consent import (
    GRANTED_WORDS,
    REFUSED_WORDS,
    Consent,
    merge_consent,
    read_consent,
)
from consumers.profile.facts.identity import normalise_gender, normalise_handle
from consumers.profile.facts.interests import interests_from
from tests.fuzz import fuzz
from tests.strategies import json_scalars, json_values, plausible_times

TAXONOMY = Taxonomy.load()
TODAY = date.today()
HANDLE = re.compile(r"^[a-z0-9_]{1,15}$")
SOURCES = {"declared", "facebook", "fullcontact", "behavior"}

observed_days = st.dates(min_value=date(2005, 1, 1), max_value=TODAY)
birthdays = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
handles = st.from_regex(r"\A[A-Za-z0-9_]{1,15}\Z")


def spelled(word: str, draw_case: int, pad: str) -> str:
    variants = (word, word.upper(), word.title(), word.swapcase())
    return pad + variants[draw_case % len(variants)] + pad


# -- shapes facts are read from: the documented ones, with any value anywhere ----------------


DOCUMENTED_KEYS = [
    "age", "birthday", "dateOfBirth", "gender", "screen_name", "location", "likes", "identities",
    "user_metadata", "app_metadata", "user_id", "demographics", "details", "ageRange", "twitter",
    "socialProfiles", "digitalFootprint", "organization", "title", "profileData", "interests",
    "employment", "locations", "profiles", "birthDate", "range", "value", "username", "url",
    "type", "city", "countryCode", "name", "category", "current", "provider", "fullcontact",
]  # fmt: skip
# Any JSON, with the keys facts are read from more often than not: values of every type turn up
# exactly where the fact functions look.
keys = st.sampled_from(DOCUMENTED_KEYS) | st.text(max_size=6)
documented_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
profiles = st.dictionaries(keys, documented_values, max_size=8)
blobs = st.builds(
    Blob, profiles, st.builds(Origin, st.sampled_from(["fullcontact", "x"]), observed_days)
)
geos = st.none() | st.builds(
    Blob,
    st.dictionaries(
        st.sampled_from(["country_code", "city", "lat", "lon", "subdivision_code", "region"]),
        json_values,
    ),
    st.builds(Origin, st.just("auth0"), observed_days),
    st.just("context.geo"),
)


def assert_plain_text(value: object) -> None:
    assert value is None or (isinstance(value, str) and value.strip()), repr(value)


@fuzz(1.5)
@given(profiles, st.lists(blobs, max_size=2), geos, observed_days)
@example({"birthday": "0001-01-01"}, [], None, TODAY)
@example({"identities": 5}, [], None, TODAY)
@example({}, [], Blob({"city": "Lyon", "lat": 10**400}, Origin("auth0", TODAY), "geo"), TODAY)
@example({}, [Blob({"details": {"locations": [{"city": {}}]}}, Origin("x", TODAY))], None, TODAY)
@example({}, [Blob({"organization": ""}, Origin("fullcontact", TODAY))], None, TODAY)
def test_facts_from_any_shape_have_the_types_the_mapping_expects(
    user: dict[str, Any], enrichment: list[Blob], geo: Blob | None, observed: date
) -> None:
    facts = facts_from(Blob(user, Origin("auth0", observed), "user"), enrichment, geo, TAXONOMY)
    if facts.birth:
        birth = facts.birth.value
        assert date(1900, 1, 1) <= birth.value <= TODAY, birth
        assert birth.precision in ("day", "year", "range")
    if facts.gender:
        assert_plain_text(facts.gender.value)
        assert facts.gender.value == facts.gender.value.strip().lower()
    if facts.twitter_handle:
        assert HANDLE.match(facts.twitter_handle.value), facts.twitter_handle.value
    if facts.location:
        where = facts.location.value
        for text in (where.country_code, where.city, where.region):
            assert_plain_text(text)
        assert where.lat is None or -90 <= where.lat <= 90
        assert where.lon is None or -180 <= where.lon <= 180
    if facts.employment:
        assert_plain_text(facts.employment.value.organization)
        assert_plain_text(facts.employment.value.title)
    for fact in (facts.birth, facts.gender, facts.twitter_handle, facts.location, facts.employment):
        if fact is not None:
            provenance = fact.provenance()
            assert provenance["field"] and provenance["source"], provenance
    for interest, sources in facts.interests.items():
        assert interest in TAXONOMY.names and sources


@fuzz(1)
@given(birthdays, st.integers(0, 2))
def test_a_birthday_in_any_usual_spelling_is_read_back_exactly(born: date, style: int) -> None:
    text = (born.strftime("%m/%d/%Y"), born.isoformat(), born.isoformat() + "T00:00:00Z")[style]
    found = parse_birthday(text)
    assert found is not None and (found.value, found.precision) == (born, "day")


@fuzz(1)
@given(st.text(max_size=30) | json_values)
@example("0001-01-01")
@example("1899-12-31")
def test_any_birthday_text_is_a_plausible_date_or_nothing(text: Any) -> None:
    found = parse_birthday(text)
    assert found is None or date(1900, 1, 1) <= found.value <= TODAY


@fuzz(1)
@given(json_values | st.text(max_size=12), observed_days)
def test_ages_and_age_ranges_give_a_plausible_birth_year_or_nothing(
    value: Any, observed: date
) -> None:
    for found in (from_age(value, observed), from_age_range(value, observed)):
        assert found is None or 1900 <= found.value.year <= observed.year
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < observed.year - 1900:
        estimate = from_age(value, observed)
        assert estimate is not None and estimate.value.year == observed.year - value


@fuzz(1)
@given(
    st.sampled_from(["male", "m", "man", "female", "f", "woman"]),
    st.integers(0, 3),
    st.sampled_from(["", " ", "\t"]),
)
def test_gender_spellings_are_understood_in_any_case(word: str, case: int, pad: str) -> None:
    expected = "female" if word in ("female", "f", "woman") else "male"
    assert normalise_gender(spelled(word, case, pad)) == expected


@fuzz(1)
@given(json_values | st.text())
def test_any_gender_value_is_lowercase_text_or_nothing(value: Any) -> None:
    found = normalise_gender(value)
    assert found is None or (found == found.strip().lower() and found)


@fuzz(1)
@given(
    handles,
    st.sampled_from(
        [
            "{}",
            "@{}",
            " {} ",
            "https://twitter.com/{}",
            "http://www.twitter.com/#!/{}",
            "https://x.com/@{}",
            "twitter.com/{}?lang=en",
        ]
    ),
)
def test_a_handle_in_any_usual_spelling_is_read(handle: str, template: str) -> None:
    assert normalise_handle(template.format(handle)) == handle.lower()


@fuzz(1)
@given(handles, st.sampled_from(["fox.com", "netflix.com", "box.com", "mytwitter.com"]))
@example("news", "fox.com")
def test_other_sites_addresses_give_no_handle(handle: str, site: str) -> None:
    assert normalise_handle(f"https://{site}/{handle}") is None


@fuzz(1)
@given(json_values | st.text())
def test_any_handle_value_is_a_valid_handle_or_nothing(value: Any) -> None:
    found = normalise_handle(value)
    assert found is None or HANDLE.match(found)


@fuzz(1)
@given(
    st.sampled_from(sorted(GRANTED_WORDS | REFUSED_WORDS)),
    st.integers(0, 3),
    st.sampled_from(["", " ", "\n"]),
)
def test_consent_words_are_understood_in_any_case(word: str, case: int, pad: str) -> None:
    expected = "granted" if word in GRANTED_WORDS else "refused"
    assert read_consent(spelled(word, case, pad)) == expected


@fuzz(1)
@given(json_values | st.text())
def test_anything_else_says_nothing_about_consent(value: Any) -> None:
    found = read_consent(value)
    if isinstance(value, str) and value.strip().lower() not in GRANTED_WORDS | REFUSED_WORDS:
        assert found is None
    if found is not None:
        assert isinstance(value, bool | int | float | str)


statements = st.lists(
    st.tuples(
        st.sampled_from(["granted", "refused"]),
        st.sampled_from(["auth0-action: app_metadata.marketing_consent", "app: user_metadata"]),
        plausible_times.map(lambda t: t.replace(second=0, microsecond=0)),
    ),
    min_size=1,
    max_size=6,
)


@fuzz(1)
@given(statements, st.randoms(use_true_random=False))
def test_consent_is_the_same_whatever_order_the_statements_arrive_in(
    said: list[Any], rng: Any
) -> None:
    def merged(order: list[Any]) -> Consent:
        consent = Consent("unknown")
        for state, source, at in order:
            consent = merge_consent(consent, state, source, at)
        return consent

    shuffled = list(said)
    rng.shuffle(shuffled)
    assert merged(said) == merged(shuffled)
    latest = max(at for _, _, at in said)
    refused_last = any(s == "refused" and at == latest for s, _, at in said)
    assert merged(said).state == ("refused" if refused_last else "granted")


likes = st.lists(
    st.fixed_dictionaries({}, optional={"name": json_scalars, "category": json_scalars}),
    max_size=3,
)


@fuzz(1)
@given(
    st.dictionaries(
        st.sampled_from(["user_metadata", "likes", "identities"]),
        st.one_of(
            documented_values,
            likes,
            st.fixed_dictionaries({"data": likes}),  # the Graph API's paging shape
            st.fixed_dictionaries({"interests": documented_values}),
            st.lists(
                st.fixed_dictionaries(
                    {
                        "provider": json_scalars,
                        "profileData": st.fixed_dictionaries({"likes": likes}),
                    }
                ),
                max_size=2,
            ),
        ),
    ),
    st.lists(blobs, max_size=2),
)
@example({"likes": [{"name": "Trail running", "category": "Sports"}]}, [])
@example({"identities": [{"provider": {"nested": True}, "profileData": {"likes": ["yoga"]}}]}, [])
def test_interests_from_any_likes_and_metadata_come_from_the_taxonomy(
    user: dict[str, Any], enrichment: list[Blob]
) -> None:
    found = interests_from(user, enrichment, TAXONOMY)
    for interest, sources in found.items():
        assert interest in TAXONOMY.names
        for source in sources:
            assert re.fullmatch(r"[a-z0-9_.-]{1,40}", source), source
    likes = user.get("likes")
    if isinstance(likes, list) and any(
        isinstance(like, dict) and like.get("name") == "Trail running" for like in likes
    ):
        assert {"running", "outdoors"} <= set(found)


def test_the_day_precision_dates_keep_the_fold_window() -> None:
    """A guard for the strategies above: they reach the oldest and newest plausible days."""
    assert parse_birthday("01/01/1900") is not None
    assert parse_birthday((TODAY + timedelta(days=1)).isoformat()) is None
