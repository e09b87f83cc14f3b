from datetime import date

import pytest

from consumers.profile.facts import Blob, Origin, Taxonomy, facts_from
from consumers.profile.facts.birth import birth_date_from, parse_birthday
from consumers.profile.facts.identity import gender_from, normalise_handle, twitter_handle_from
from consumers.profile.facts.interests import interests_from
from consumers.profile.facts.sources import fullcontact_blobs

TODAY = date(2026, 11, 29)


def auth0(user: dict[str, object], on: date = TODAY) -> Blob:
    return Blob(dict(user), Origin("auth0", on), "user")


def birth(user: dict[str, object]) -> tuple[date, str] | None:
    blob = auth0(user)
    found = birth_date_from(blob, fullcontact_blobs(blob, []))
    return (found.value.value, found.value.precision) if found else None


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
        ({"birthday": "0001-01-01"}, None),  # found by fuzzing: a placeholder read as a birthday
        ({"dateOfBirth": "1899-12-31"}, None),
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
    blob = auth0({"user_id": "x", **user})
    found = gender_from(blob, fullcontact_blobs(blob, []))
    assert (found.value if found else None) == expected


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
    blob = auth0(user)
    found = twitter_handle_from(blob, fullcontact_blobs(blob, []))
    assert (found.value if found else None) == expected


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
    # Keywords only: this is about sources; "Hiking" is `may` fitness, and the similarity
    # fallback (tests/unit/profile/test_interest_similarity.py) gives it.
    facts = facts_from(auth0(user), [], None, Taxonomy.load(similarity=False))
    assert facts.interests["running"] == {"facebook"}
    # CrossFit is fitness; running always is (the taxonomy says "implies").
    assert facts.interests["fitness"] == {"google-oauth2", "facebook"}
    assert facts.interests["outdoors"] == {"declared"}
    assert facts.interests["gaming"] == {"fullcontact"}


def test_taxonomy_matches_whole_words_only() -> None:
    taxonomy = Taxonomy({"running": ["running"], "cycling": ["bike"]})
    assert taxonomy.match("Trail Running Club") == {"running"}
    assert taxonomy.match("Bikerace") == set()


def test_location_prefers_request_geo() -> None:
    geo = {"country_code": "us", "city": "Portland", "lat": 45.5, "lon": -122.6}
    facts = facts_from(
        auth0({"user_id": "x", "location": "Paris, France"}),
        [],
        Blob(geo, Origin("auth0", TODAY), "context.geo"),
        Taxonomy.load(),
    )
    assert facts.location is not None
    where = facts.location.value
    assert (where.country_code, where.city, where.lat) == (
        "US",
        "Portland",
        45.5,
    )


@pytest.mark.parametrize(
    ("geo", "fullcontact", "expected"),
    [
        # Found by fuzzing: objects and numbers became keyword fields Elasticsearch refuses (the
        # whole profile, and the event with it), and a huge integer made float() overflow.
        ({"city": "Lyon", "region": {"code": 1}, "lat": 10**400}, {}, ("Lyon", None, None)),
        ({"city": {"name": "x"}}, {"location": "Lyon, France"}, ("Lyon", None, None)),
        (
            {},
            {"details": {"locations": [{"city": {"n": 1}, "regionCode": "ARA"}]}},
            (None, "ARA", None),
        ),
        ({"city": "Nice", "lat": True, "lon": -200}, {}, ("Nice", None, None)),
    ],
)
def test_locations_keep_only_text_and_coordinates_in_range(
    geo: dict[str, object], fullcontact: dict[str, object], expected: tuple[object, ...]
) -> None:
    user = auth0({"user_id": "x"})
    enrichment = [Blob(fullcontact, Origin("fullcontact", TODAY))] if fullcontact else []
    where_geo = Blob(geo, Origin("auth0", TODAY), "context.geo") if geo else None
    facts = facts_from(user, enrichment, where_geo, Taxonomy.load())
    assert facts.location is not None
    where = facts.location.value
    assert (where.city, where.region, where.lat) == expected


FULLCONTACT_V3 = {
    "fullName": "Marcus Reed",
    "ageRange": "25-34",
    "gender": "Male",
    "title": "Coach",
    "organization": "Trail Co",
    "details": {
        "age": {"range": "25-34", "value": 30},
        "profiles": {"twitter": {"username": "marcus_runs"}},
        "employment": [
            {"name": "Old Job", "current": False, "title": "Clerk"},
            {"name": "Trail Co", "current": True, "title": "Running coach"},
        ],
        "interests": [{"name": "Running", "category": "Sports"}],
    },
}


def fullcontact(on: date) -> Blob:
    return Blob(FULLCONTACT_V3, Origin("fullcontact", on), "enrichment.fullcontact.response")


def test_every_fact_says_where_it_came_from() -> None:
    user = auth0({"user_id": "auth0|1", "birthday": "08/31/1990"}, date(2026, 1, 5))
    facts = facts_from(user, [fullcontact(date(2026, 3, 1))], None, Taxonomy.load())
    assert facts.birth is not None and facts.gender is not None
    # FullContact comes before the IdP's birthday in getAge's order; its age value is an estimate.
    assert facts.birth.provenance() == {
        "source": "fullcontact",
        "field": "enrichment.fullcontact.response.details.age.value",
        "observed_on": "2026-03-01",
    }
    assert facts.gender.provenance()["field"] == "enrichment.fullcontact.response.gender"
    assert facts.twitter_handle is not None and facts.twitter_handle.value == "marcus_runs"
    assert facts.employment is not None
    assert (facts.employment.value.organization, facts.employment.value.title) == (
        "Trail Co",
        "Running coach",
    )
    assert "fullcontact" in facts.interests["running"]


def test_an_age_is_anchored_to_the_day_it_was_observed_not_to_today() -> None:
    # An age of 30 read in 2026 means born around 1996, however late the profile is folded again.
    user = auth0({"user_id": "auth0|1"})
    read_in_2026 = facts_from(user, [fullcontact(date(2026, 6, 1))], None, Taxonomy.load())
    assert read_in_2026.birth is not None
    assert read_in_2026.birth.value.value == date(1996, 7, 1)
    assert read_in_2026.birth.value.precision == "year"
    anchored = auth0({"user_id": "auth0|1", "age": 30}, date(2026, 6, 1))
    later = facts_from(anchored, [], None, Taxonomy.load())
    assert later.birth is not None and later.birth.value.value.year == 1996


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("https://twitter.com/Shoe_Lover", "shoe_lover"),
        ("https://www.x.com/@runner", "runner"),
        ("x.com/runner", "runner"),
        ("https://fox.com/news", None),  # found by fuzzing: "news" was read as a handle
        ("https://mytwitter.com/runner", None),
    ],
)
def test_handles_come_only_from_twitter_addresses(text: str, handle: str | None) -> None:
    assert normalise_handle(text) == handle


@pytest.mark.parametrize(
    ("identities", "sources"),
    [
        ([{"provider": "google-oauth2", "profileData": {"likes": ["yoga"]}}], ["google-oauth2"]),
        # Found by fuzzing: any value became a source ("{'x': 1}", or 40,000 characters that
        # Elasticsearch refuses in the profile), and identities that are not a list crashed.
        ([{"provider": {"x": 1}, "profileData": {"likes": ["yoga"]}}], ["identity"]),
        ([{"provider": "x" * 40_000, "profileData": {"likes": ["yoga"]}}], ["identity"]),
        (5, []),
    ],
)
def test_interest_sources_of_linked_identities_are_provider_names(
    identities: object, sources: list[str]
) -> None:
    found = interests_from({"identities": identities}, [], Taxonomy.load())
    assert sorted(found.get("fitness", set())) == sources


@pytest.mark.parametrize(
    ("answer", "employment"),
    [
        ({"organization": ""}, None),
        ({"organization": "  ", "title": "Coach"}, (None, "Coach")),
        (
            {"details": {"employment": [{"name": " Innova ", "title": "", "current": True}]}},
            ("Innova", None),
        ),
        ({"details": {"employment": [{"name": "", "title": " "}]}}, None),
    ],
)
def test_blank_organizations_and_titles_are_no_employment(
    answer: dict[str, object], employment: tuple[str | None, str | None] | None
) -> None:
    # Found by fuzzing: an empty organization became the customer's employer.
    blob = Blob(answer, Origin("fullcontact", date(2026, 11, 1)))
    facts = facts_from(
        Blob({}, Origin("auth0", date(2026, 11, 1)), "user"),
        [blob],
        None,
        Taxonomy.load(similarity=False),
    )
    found = facts.employment
    assert (found and (found.value.organization, found.value.title)) == employment
