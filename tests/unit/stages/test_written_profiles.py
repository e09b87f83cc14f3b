"""Which written profiles the index stage keeps, and in which form (``stages.written_profiles``)."""

import math
from datetime import UTC, datetime

import orjson
import pytest

from consumers.profile.model import Block, Profile
from consumers.stages.written_profiles import WrittenProfiles, reads_back_the_same

AT = datetime(2026, 11, 30, tzinfo=UTC)
INDEX = "authstream-users-v1"


def read_back(profile: Profile) -> Profile:
    return Profile.model_validate(orjson.loads(profile.document_json()))


def answer(**extra: object) -> Block:
    return Block.model_validate({"status": "enriched", "updated_at": AT, **extra})


@pytest.mark.parametrize(
    "change",
    [
        {"location": {"city": "Berlin", "point": {"lat": 52.5, "lon": 13.4}}},
        {"employment": {"organization": "Acme", "title": None}},
        {"enrichment": {"fullcontact": answer(response={"age": [1, 2.5, None, {"a": True}]})}},
        {"sentiment": answer(score=-0.2, label="negative")},
    ],
)
def test_a_profile_whose_json_reads_back_equal_is_kept_as_it_is(change: dict[str, object]) -> None:
    after = Profile(user_id="u", **change)
    assert read_back(after) == after
    assert reads_back_the_same(None, after)


@pytest.mark.parametrize(
    "change",
    [
        {"location": {"city": "Berlin", "point": {"lat": math.nan, "lon": 13.4}}},
        {"employment": {"organization": ("Acme",)}},  # a tuple is read back a list
        {"enrichment": {"fullcontact": answer(response={"score": math.inf})}},
        {"enrichment": {"fullcontact": answer(note=None)}},  # not written, so read back absent
        {"sentiment": answer(score=math.nan)},
    ],
)
def test_a_profile_whose_json_reads_back_otherwise_is_not(change: dict[str, object]) -> None:
    after = Profile(user_id="u", **change)
    assert read_back(after) != after
    assert not reads_back_the_same(None, after)


def test_what_is_carried_over_unchanged_is_not_looked_into_again() -> None:
    """A block read back is as JSON has it; a later write that keeps it changes nothing of it."""
    before = read_back(Profile(user_id="u", enrichment={"fullcontact": answer(x=[1, {"y": 2}])}))
    after = before.model_copy(update={"enrichment": dict(before.enrichment), "version": 2})
    assert reads_back_the_same(before, after)
    worse = after.model_copy(update={"sentiment": answer(score=math.nan)})
    assert not reads_back_the_same(before, worse)


def test_profiles_that_read_back_otherwise_are_kept_as_their_json() -> None:
    kept = WrittenProfiles(10, "test")
    clean = Profile(user_id="a")
    odd = Profile(user_id="b", sentiment=answer(score=math.nan))
    kept.keep("a", (None, clean, clean.document_json()), INDEX, 1, 1)
    kept.keep("b", (None, odd, odd.document_json()), INDEX, 2, 1)
    found, unknown = kept.recall(["a", "b", "c"], INDEX)
    assert unknown == ["c"]
    assert found["a"].profile is clean and found["a"].stored is None
    assert found["b"].profile == read_back(odd) and found["b"].stored is not None
    assert found["b"].stored["sentiment"]["score"] is None
    assert (found["b"].seq_no, found["b"].primary_term) == (2, 1)


def test_the_least_recently_written_go_first_and_none_is_kept_at_zero() -> None:
    kept = WrittenProfiles(2, "test")
    for user_id in ("a", "b", "a", "c"):  # "a" written again: "b" is now the oldest
        profile = Profile(user_id=user_id)
        kept.keep(user_id, (None, profile, profile.document_json()), INDEX, 0, 1)
    assert len(kept) == 2
    assert sorted(kept.recall(["a", "b", "c"], INDEX)[0]) == ["a", "c"]
    kept.drop("a")
    assert kept.recall(["a"], INDEX) == ({}, ["a"])
    none = WrittenProfiles(0, "test")
    none.keep("a", (None, Profile(user_id="a"), b"{}"), INDEX, 0, 1)
    assert len(none) == 0 and not none.holds_any(["a"])


def test_profiles_written_to_another_index_than_the_alias_s_are_dropped() -> None:
    kept = WrittenProfiles(10, "test")
    profile = Profile(user_id="a")
    kept.keep("a", (None, profile, profile.document_json()), INDEX, 0, 1)
    assert kept.holds_any(["a", "z"]) and not kept.holds_any(["z"])
    assert kept.recall(["a"], "authstream-users-v2") == ({}, ["a"])
    assert len(kept) == 0
