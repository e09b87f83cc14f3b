from datetime import date

import pytest

from consumers.profile.facts import Taxonomy, facts_from
from consumers.profile.facts.birth import birth_date_from, parse_birthday
from consumers.profile.facts.identity import consent_from, gender_from, twitter_handle_from
from consumers.profile.facts.sources import fullcontact_blobs

TODAY = date(2026, 11, 29)


def birth(user: dict[str, object]) -> tuple[date, str] | None:
    found = birth_date_from(user, fullcontact_blobs(user, None), TODAY)
    return (found.value, found.precision) if found else None


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"age": 33}, (date(1993, 7, 1), "year")),
        ({"age": "33", "birthday": "08/31/1990"}, (date(1993, 7, 1), "year")),  # getAge order
        ({"user_metadata": {"fullcontact": {"age": "40"}}}, (date(1986, 7, 1), "year")),
        (
            {"app_metadata": {"fullContactInfo": {"demographics": {"age": 25}}}},
            (date(2001, 7, 1), "year"),
        ),
        (
            {"user_metadata": {"fullContactInfo": {"demographics": {"birthDate": "1985-03-04"}}}},
            (date(1985, 3, 4), "day"),
        ),
        (
            {
                "user_metadata": {
                    "fullcontact": {
                        "details": {"age": {"birthday": {"year": 1979, "month": 2, "day": 9}}}
                    }
                }
            },
            (date(1979, 2, 9), "day"),
        ),
        ({"user_metadata": {"fullcontact": {"ageRange": "25-34"}}}, (date(1997, 7, 1), "range")),
        ({"dateOfBirth": "1990-08-31"}, (date(1990, 8, 31), "day")),
        ({"birthday": "08/31/1990"}, (date(1990, 8, 31), "day")),
        ({"birthday": "08/31"}, None),  # Facebook without the year
        ({"birthday": "1990"}, (date(1990, 7, 1), "year")),
        (
            {"identities": [{"provider": "facebook", "profileData": {"birthday": "01/02/1980"}}]},
            (date(1980, 1, 2), "day"),
        ),
        ({"birthday": "02/30/1990"}, None),
        ({"age": "old"}, None),
        ({}, None),
    ],
)
def test_birth_date_sources_follow_get_age_precedence(
    user: dict[str, object], expected: object
) -> None:
    assert birth({"user_id": "x", **user}) == expected


def test_future_birthdays_are_ignored() -> None:
    assert parse_birthday("2999-01-01") is None


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"gender": "Male"}, "male"),
        ({"gender": "F"}, "female"),
        ({"user_metadata": {"gender": "FEMALE"}}, "female"),
        ({"user_metadata": {"fullContactInfo": {"demographics": {"gender": "Male"}}}}, "male"),
        ({"user_metadata": {"fullcontact": {"gender": "Female"}}}, "female"),
        ({"gender": "non-binary"}, "non-binary"),
        ({"gender": ""}, None),
    ],
)
def test_gender_in_any_case_from_any_source(user: dict[str, object], expected: str | None) -> None:
    full = {"user_id": "x", **user}
    assert gender_from(full, fullcontact_blobs(full, None)) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (
            {
                "user_id": "twitter|1",
                "screen_name": "InnovaFan",
                "identities": [{"provider": "twitter", "profileData": {}}],
            },
            "innovafan",
        ),
        (
            {
                "user_id": "auth0|1",
                "identities": [{"provider": "twitter", "profileData": {"screen_name": "@Zoe_R"}}],
            },
            "zoe_r",
        ),
        (
            {
                "user_id": "auth0|1",
                "user_metadata": {
                    "fullContactInfo": {
                        "socialProfiles": [
                            {"type": "facebook", "username": "nope"},
                            {"type": "twitter", "username": "runner42"},
                        ]
                    }
                },
            },
            "runner42",
        ),
        (
            {
                "user_id": "auth0|1",
                "user_metadata": {"fullcontact": {"twitter": "https://twitter.com/shoe_lover"}},
            },
            "shoe_lover",
        ),
        ({"user_id": "auth0|1", "screen_name": "not-from-twitter"}, None),
    ],
)
def test_twitter_handle(user: dict[str, object], expected: str | None) -> None:
    assert twitter_handle_from(user, fullcontact_blobs(user, None)) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"app_metadata": {"marketing_consent": True}}, "granted"),
        (
            {
                "app_metadata": {"marketing_consent": True},
                "user_metadata": {"marketing_opt_in": False},
            },
            "refused",
        ),
        ({"user_metadata": {"marketing_opt_in": True}}, "granted"),
        ({}, "unknown"),
    ],
)
def test_consent(user: dict[str, object], expected: str) -> None:
    assert consent_from(user) == expected


def test_interests_come_from_every_source_with_their_sources() -> None:
    user = {
        "user_id": "facebook|1",
        "likes": {"data": [{"name": "Runner's World", "category": "Magazine"}]},
        "user_metadata": {
            "interests": ["Hiking"],
            "fullcontact": {
                "details": {"interests": [{"name": "Video Games", "category": "Hobbies"}]}
            },
        },
        "identities": [
            {"provider": "google-oauth2", "profileData": {"likes": [{"name": "CrossFit"}]}}
        ],
    }
    facts = facts_from(user, None, None, Taxonomy.load())
    assert facts.interests["running"] == {"facebook"}
    assert facts.interests["fitness"] == {"google-oauth2"}
    assert facts.interests["outdoors"] == {"declared"}
    assert facts.interests["gaming"] == {"fullcontact"}


def test_taxonomy_matches_whole_words_only() -> None:
    taxonomy = Taxonomy({"running": ["running"], "cycling": ["bike"]})
    assert taxonomy.match("Trail Running Club") == {"running"}
    assert taxonomy.match("Bikerace") == set()


def test_location_prefers_request_geo() -> None:
    facts = facts_from(
        {"user_id": "x", "location": "Paris, France"},
        None,
        {"country_code": "us", "city": "Portland", "lat": 45.5, "lon": -122.6},
        Taxonomy.load(),
    )
    assert facts.location is not None
    assert (facts.location.country_code, facts.location.city, facts.location.lat) == (
        "US",
        "Portland",
        45.5,
    )
