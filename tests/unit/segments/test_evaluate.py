"""The in-process evaluator: the same answers the Elasticsearch query gives (boundaries first).

Agreement with the real Elasticsearch on generated profiles is proven in
tests/integration/segments/test_agreement.py; these pin the boundaries by hand.
"""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from consumers.profile.model import BehaviorCount, Block, Profile
from consumers.segments.conditions import Condition
from consumers.segments.evaluate import Thresholds, predicate, view_keys
from consumers.segments.parse import ConditionParser
from consumers.segments.text import words
from consumers.segments.view import readers, view_of

NOW = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)


def parse(where: dict[str, Any]) -> Condition:
    parser = ConditionParser()
    condition = parser.parse(where, ("where",))
    assert condition is not None, parser.problems
    return condition


def holds(where: dict[str, Any], profile: Profile, now: datetime = NOW) -> bool:
    condition = parse(where)
    view = view_of(profile, readers(view_keys(condition)))
    return predicate(condition, Thresholds(now))(view)


def person(**fields: Any) -> Profile:
    return Profile(user_id="auth0|1", **fields)


@pytest.mark.parametrize(
    ("born", "now", "age"),
    [
        (date(2006, 3, 1), NOW, 20),  # 20 today
        (date(2006, 3, 2), NOW, 19),  # 20 tomorrow
        (date(1985, 3, 2), NOW, 40),  # 41 tomorrow: still 40
        (date(1985, 3, 1), NOW, 41),
        # Born on 29 February: a year older on 1 March in other years...
        (date(2004, 2, 29), datetime(2025, 2, 28, 23, 0, tzinfo=UTC), 20),
        (date(2004, 2, 29), datetime(2025, 3, 1, 0, 0, tzinfo=UTC), 21),
        # ...and on 29 February, "21 years ago" is 28 February (java.time's minusYears).
        (date(2003, 2, 28), datetime(2024, 2, 29, 1, 0, tzinfo=UTC), 21),
        (date(2003, 3, 1), datetime(2024, 2, 29, 1, 0, tzinfo=UTC), 20),
    ],
)
def test_age_in_whole_years(born: date, now: datetime, age: int) -> None:
    profile = person(birth_date=born)
    assert holds({"age": age}, profile, now)
    assert not holds({"age": age + 1}, profile, now)
    assert not holds({"age": age - 1}, profile, now)
    assert holds({"age": {"min": 20, "max": 40}}, profile, now) == (20 <= age <= 40)


def test_times_relative_to_now_are_whole_days_or_hours() -> None:
    seven_days_ago_late = datetime(2026, 2, 22, 23, 59, 59, 999_000, tzinfo=UTC)
    eight_days_ago = datetime(2026, 2, 21, 8, 0, tzinfo=UTC)
    six_days_ago_early = datetime(2026, 2, 23, 0, 0, tzinfo=UTC)
    older = {"signed_up_at": {"older_than": "7 days"}}
    assert holds(older, person(signed_up_at=seven_days_ago_late))  # any time that day
    assert holds(older, person(signed_up_at=eight_days_ago))
    assert not holds(older, person(signed_up_at=six_days_ago_early))
    assert not holds(older, person())  # no value never matches a comparison
    assert holds({"not": older}, person())  # ...and `not` is plain negation

    within = {"last_login": {"within": "1 week"}}
    assert holds(within, person(last_login=datetime(2026, 2, 22, 0, 0, tzinfo=UTC)))
    assert not holds(within, person(last_login=datetime(2026, 2, 21, 23, 59, tzinfo=UTC)))

    hours = {"last_seen": {"within": "2 hours"}}
    assert holds(hours, person(last_seen=datetime(2026, 3, 1, 13, 0, tzinfo=UTC)))
    assert not holds(hours, person(last_seen=datetime(2026, 3, 1, 12, 59, 59, tzinfo=UTC)))


def test_fixed_dates_and_sub_millisecond_times() -> None:
    since = {"signed_up_at": {"since": "2026-01-01", "before": "2026-02-01"}}
    assert holds(since, person(signed_up_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert not holds(since, person(signed_up_at=datetime(2026, 2, 1, tzinfo=UTC)))
    # Elasticsearch keeps milliseconds: 23:59:59.9999 is 23:59:59.999 there, and here.
    assert holds(since, person(signed_up_at=datetime(2026, 1, 31, 23, 59, 59, 999_900, UTC)))


def test_keyword_lists_match_when_any_value_does() -> None:
    runner = person(interests=["fitness", "running"])
    assert holds({"interests": "running"}, runner)
    assert holds({"interests": ["music", "running"]}, runner)
    assert holds({"interests": {"all_of": ["fitness", "running"]}}, runner)
    assert not holds({"interests": {"all_of": ["fitness", "music"]}}, runner)
    assert holds({"interests": {"not": "music"}}, runner)
    assert not holds({"exists": "interests"}, person())


def test_keywords_longer_than_ignore_above_are_not_indexed() -> None:
    long_handle = "x" * 513
    assert not holds({"exists": "twitter_handle"}, person(twitter_handle=long_handle))
    assert holds({"exists": "twitter_handle"}, person(twitter_handle="x" * 512))


def test_scores_compare_as_32_bit_floats_like_the_float_mapping() -> None:
    def scored(score: float) -> Profile:
        return person(sentiment=Block(updated_at=NOW, score=score, label="neutral"))

    below_zero = {"sentiment.score": {"below": 0}}
    assert holds(below_zero, scored(-0.01))
    assert holds(below_zero, scored(-0.0))  # Lucene orders -0.0 below +0.0
    assert not holds(below_zero, scored(1e-46))  # rounds to +0.0 as a float32
    assert holds({"sentiment.score": {"min": 0.1}}, scored(0.1))


def test_text_matches_every_word_as_the_standard_analyzer_splits_them() -> None:
    assert words("Jean-Luc O'Brien, j.r.r. Tolkien_Fan \u03a3\u0391\u03a3") == [
        "jean",
        "luc",
        "o'brien",
        "j.r.r",
        "tolkien_fan",
        "\u03c3\u03b1\u03c3",  # each capital sigma lower-cased alone: no final sigma
    ]
    named = person(name="Jean-Luc O'Brien")
    assert holds({"name": {"matches": "luc jean"}}, named)
    assert not holds({"name": {"matches": "luc smith"}}, named)
    assert holds({"name": "Jean-Luc O'Brien"}, named)  # `is`: the exact value
    assert holds({"exists": "name"}, person(name=""))  # any string counts as there


def test_behaviour_counts_are_matched_one_entry_at_a_time() -> None:
    shopper = person(
        behaviors=[
            BehaviorCount(
                action="cart_item_added", count=3, last_at=datetime(2026, 1, 1, tzinfo=UTC)
            ),
            BehaviorCount(
                action="page_viewed", count=40, last_at=datetime(2026, 2, 28, tzinfo=UTC)
            ),
        ]
    )
    assert holds({"behavior": {"action": "cart_item_added", "at_least": 2}}, shopper)
    # Both hold, but not for the same action: no match (nested, as in Elasticsearch).
    assert not holds({"behavior": {"action": "cart_item_added", "within": "7 days"}}, shopper)
    assert holds({"behavior": {"within": "7 days", "at_least": 10}}, shopper)
    assert not holds({"behavior": {"action": "cart_item_added", "at_most": 2}}, shopper)


def test_nesting() -> None:
    where = {
        "any": [
            {"all": [{"gender": "male"}, {"missing": "birth_date"}]},
            {"not": [{"consent": "refused"}, {"returned": False}]},
        ]
    }
    assert holds(where, person(gender="male"))
    assert not holds(where, person(gender="male", birth_date=date(1990, 1, 1)))
    assert holds(where, person(returned=True, marketing_consent="granted"))
    assert not holds(where, person(returned=True, marketing_consent="refused"))
