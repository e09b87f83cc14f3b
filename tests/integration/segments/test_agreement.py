"""The two evaluators agree: for generated profiles stored in the real Elasticsearch and generated
conditions, the Elasticsearch query finds exactly the profiles the in-process evaluator accepts.

Profiles are generated close to the boundaries that matter (birthdays, "7 days ago" at any time
of day, 29 February, -0.0 and float32 rounding, keywords over ignore_above, words split by
punctuation), and conditions from the whole language, nested. Each example stores its profiles
under its own tenant in one index, then compares, condition by condition, at the same instant.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given
from hypothesis import settings as examples_of
from hypothesis import strategies as st

from consumers.core.settings import Settings
from consumers.profile.model import Profile
from consumers.segments.conditions import Condition, minus_years
from consumers.segments.definitions import load_segments
from consumers.segments.evaluate import Thresholds, predicate, view_keys
from consumers.segments.parse import ConditionParser
from consumers.segments.query import to_query
from consumers.segments.view import readers, view_of
from consumers.store.layout import USERS_MAPPING
from tests import search

WORDS = ["ann", "Bob", "o'brien", "jean-luc", "j.r.r", "x_y", "3.5", "Zoë", "ΣΑΣ"]
ACTIONS = ["cart_item_added", "page_viewed"]
INTERESTS = ["fitness", "running", "music"]
AGES = [19, 20, 21, 40, 41]  # where the conditions' bounds are, mostly
SCORES = [-0.5, -0.0, 0.0, 1e-46, -1e-46, 0.1, 1 / 3, 0.3333333, 0.5, -1.0]

# --- profiles ----------------------------------------------------------------------------------


@st.composite
def instants(draw: st.DrawFn, now: datetime) -> datetime:
    """A time up to 40 days before now, at any time of day (boundaries come often)."""
    days = draw(st.integers(0, 40))
    return now - timedelta(
        days=days,
        hours=draw(st.integers(0, 23)),
        minutes=draw(st.sampled_from([0, 1, 30, 59])),
        seconds=draw(st.sampled_from([0, 59])),
        microseconds=draw(st.sampled_from([0, 999, 999_999, 123_456])),
    )


@st.composite
def birth_dates(draw: st.DrawFn, now: datetime) -> date:
    """Close to a birthday that decides an age: N years before today, give or take a day."""
    today = now.date()
    years = draw(st.sampled_from(AGES) | st.integers(15, 45))
    near = minus_years(today, years) + timedelta(days=draw(st.integers(-2, 2)))
    return draw(st.sampled_from([near, date(2000, 2, 29), date(1996, 2, 28), date(1996, 3, 1)]))


@st.composite
def profiles(draw: st.DrawFn, now: datetime, number: int, tenant: str) -> Profile:
    maybe = st.none() | st.just(True)

    def optional(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    fields: dict[str, Any] = {
        "user_id": f"{tenant}|{number}",
        "tenant": tenant,
        "email": optional(st.sampled_from(["a@x.io", "B@x.io", "x" * 520 + "@x.io"])),
        "gender": optional(st.sampled_from(["male", "female", "non-binary"])),
        "birth_date": optional(birth_dates(now)),
        "interests": draw(st.lists(st.sampled_from(INTERESTS), unique=True, max_size=3)),
        "marketing_consent": draw(st.sampled_from(["granted", "refused", "unknown"])),
        "returned": draw(st.booleans()),
        "signed_up_at": optional(instants(now)),
        "last_login": optional(instants(now)),
        "last_seen": optional(instants(now)),
        "logins_count": optional(st.integers(0, 6)),
        "counters": draw(
            st.dictionaries(st.sampled_from(["logins", "behaviors"]), st.integers(0, 6))
        ),
        "twitter_handle": optional(st.sampled_from(["runner", "x" * 513])),
        "name": optional(
            st.sampled_from(["", "-- !"])
            | st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
        ),
        "location": optional(st.builds(dict, country_code=st.sampled_from(["US", "NO", "CA"]))),
        "behaviors": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "action": st.sampled_from(ACTIONS),
                        "count": st.integers(1, 5),
                        "last_at": instants(now),
                    }
                ),
                max_size=2,
                unique_by=lambda b: b["action"],
            )
        ),
    }
    if draw(maybe):
        fields["sentiment"] = {
            "status": "ok",
            "updated_at": now,
            **({"label": draw(st.sampled_from(["negative", "positive"]))} if draw(maybe) else {}),
            **({"score": draw(st.sampled_from(SCORES))} if draw(maybe) else {}),
        }
    return Profile.model_validate(fields)


# --- conditions --------------------------------------------------------------------------------

EXISTS = ["email", "birth_date", "twitter_handle", "name", "interests", "sentiment.score"]
durations = st.builds(
    "{} {}".format, st.integers(1, 40), st.sampled_from(["days", "hours", "weeks"])
)


@st.composite
def ages(draw: st.DrawFn) -> dict[str, Any]:
    low, high = sorted(
        draw(st.lists(st.sampled_from(AGES) | st.integers(14, 46), min_size=2, max_size=2))
    )
    return draw(
        st.sampled_from([{"age": {"min": low, "max": high}}, {"age": low}, {"age": {"max": high}}])
    )


@st.composite
def score_ranges(draw: st.DrawFn) -> dict[str, Any]:
    low, high = sorted(draw(st.lists(st.sampled_from(SCORES), min_size=2, max_size=2)))
    kind = draw(st.sampled_from(["below", "above", "min", "max", "between"]))
    if kind == "between":
        if low == high:
            return {"sentiment.score": {"min": low, "max": high}}
        return {"sentiment.score": {"above": low, "max": high}}
    return {"sentiment.score": {kind: draw(st.sampled_from(SCORES))}}


leaves = st.one_of(
    st.sampled_from(
        [
            {"gender": "male"},
            {"gender": ["female", "non-binary"]},
            {"interests": "fitness"},
            {"interests": {"all_of": ["fitness", "running"]}},
            {"interests": ["music", "running"]},
            {"consent": {"not": "refused"}},
            {"returned": False},
            {"country": ["US", "NO"]},
            {"sentiment.label": "negative"},
            {"email": "a@x.io"},
            {"name": "Bob"},
        ]
    ),
    ages(),
    score_ranges(),
    st.builds(lambda f, n: {f: n}, st.sampled_from(["exists", "missing"]), st.sampled_from(EXISTS)),
    st.builds(
        lambda f, op, d: {f: {op: d}},
        st.sampled_from(["signed_up_at", "last_login", "last_seen"]),
        st.sampled_from(["older_than", "within"]),
        durations,
    ),
    st.builds(
        lambda f, lo, hi: {f: {"min": lo, "below": hi + 1}},
        st.sampled_from(["logins_count", "counters.logins", "counters.behaviors"]),
        st.integers(0, 3),
        st.integers(3, 6),
    ),
    st.builds(lambda w: {"name": {"matches": w}}, st.sampled_from([*WORDS, "bob ann", "luc"])),
    st.builds(
        lambda a, n, d: {"behavior": {"action": a, "at_least": n, "within": d}},
        st.sampled_from(ACTIONS),
        st.integers(1, 4),
        durations,
    ),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)
nows = st.sampled_from(
    [
        datetime(2026, 3, 1, 0, 0, 0, 500, tzinfo=UTC),
        datetime(2024, 2, 29, 13, 45, 10, tzinfo=UTC),
        datetime(2025, 2, 28, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 11, 29, 9, 7, 3, 250_000, tzinfo=UTC),
    ]
)
BUILT_IN = [s.default_condition for s in load_segments().values()]


def parsed(where: dict[str, Any]) -> Condition:
    parser = ConditionParser()
    condition = parser.parse(where, ("where",))
    assert condition is not None, (where, parser.problems)
    return condition


EXAMPLES = examples_of(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_the_query_and_the_evaluator_agree_on_profiles_stored_in_elasticsearch(
    settings: Settings,
) -> None:
    name = f"{settings.name_prefix}agreement"
    with search.client(settings) as es:
        es.indices.create(index=name, mappings=USERS_MAPPING)
        examples, split = [0], [0]  # examples run; comparisons that split the profiles

        @EXAMPLES
        @given(data=st.data(), now=nows, wheres=st.lists(conditions, min_size=1, max_size=6))
        def agree(data: st.DataObject, now: datetime, wheres: list[dict[str, Any]]) -> None:
            examples[0] += 1
            tenant = f"t{examples[0]}"
            count = data.draw(st.integers(1, 25), label="profiles")
            stored = [data.draw(profiles(now, n, tenant)) for n in range(count)]
            _store(es, name, stored)
            # What the stage evaluates: the profile as read back from Elasticsearch.
            read_back = [
                Profile.model_validate(orjson.loads(orjson.dumps(p.document()))) for p in stored
            ]
            for condition in [*map(parsed, wheres), *BUILT_IN]:
                keys = readers(view_keys(condition))
                holds = predicate(condition, Thresholds(now))
                expected = {p.user_id for p in read_back if holds(view_of(p, keys))}
                found = _found(es, name, condition, now, tenant)
                assert found == expected, to_query(condition, now)
                split[0] += 0 < len(expected) < len(read_back)

        agree()
        assert examples[0] >= 40
        assert split[0] >= 100  # enough comparisons told profiles apart (not all or nothing)


def _store(es: Elasticsearch, index: str, stored: list[Profile]) -> None:
    operations: list[dict[str, Any]] = []
    for profile in stored:
        operations += [{"index": {"_index": index, "_id": profile.user_id}}, profile.document()]
    answer = es.bulk(operations=operations, refresh=True)
    assert not answer["errors"], answer


def _found(
    es: Elasticsearch, index: str, condition: Condition, now: datetime, tenant: str
) -> set[str]:
    query = {"bool": {"filter": [to_query(condition, now), {"term": {"tenant": tenant}}]}}
    hits = es.search(index=index, query=query, size=100, source=False)["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def test_ages_around_29_february_agree_day_by_day(settings: Settings) -> None:
    """Every birthday from 25 February to 3 March, three years around each age bound, on the days
    around 29 February in leap and other years: where date math clamps to 28 February."""
    name = f"{settings.name_prefix}ages"
    with search.client(settings) as es:
        es.indices.create(index=name, mappings=USERS_MAPPING)
        for n, now in enumerate(
            datetime(y, m, d, 12, tzinfo=UTC)
            for y, m, d in [(2024, 2, 28), (2024, 2, 29), (2024, 3, 1), (2025, 2, 28), (2025, 3, 1)]
        ):
            tenant = f"ages{n}"
            people = [
                Profile(user_id=f"{tenant}|{year}-{day}", tenant=tenant, birth_date=day)
                for year in range(now.year - 22, now.year - 18)
                for day in (date(year, 2, 25) + timedelta(days=k) for k in range(7))
            ]
            _store(es, name, people)
            for where in [{"age": {"min": 20}}, {"age": {"max": 20}}, {"age": 21}]:
                condition = parsed(where)
                keys = readers(view_keys(condition))
                holds = predicate(condition, Thresholds(now))
                expected = {p.user_id for p in people if holds(view_of(p, keys))}
                assert expected, where
                assert _found(es, name, condition, now, tenant) == expected, (now, where)
