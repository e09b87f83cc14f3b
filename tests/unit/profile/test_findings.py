"""A stage finding is checked against what its block's mapping takes before it is folded: a
sound one folds as before, one that would make Elasticsearch refuse the profile gets a reason
that names the field and never its value."""

from typing import Any

import pytest

from consumers.profile.fold import finding_problem
from schemas import Event
from tests.helpers import envelope
from tests.unit.profile.test_fold_sentiment import summary


def finding(kind: str, data: dict[str, Any]) -> Event:
    return Event.model_validate(
        envelope(type=kind, source="authstream", user={"user_id": "twitter|42"}, data=data)
    )


def test_the_sentiment_stage_s_own_summaries_are_sound() -> None:
    assert finding_problem(summary(0, "negative", -0.6, ["1", "2"])) is None
    sound = {"score": 0, "mentions": 0, "author_id": ["1", "2"], "last_at": "2026-11-29"}
    assert finding_problem(finding("profile.sentiment", sound)) is None


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("profile.sentiment", {"score": "abc-secret"}, "score"),
        ("profile.sentiment", {"score": True}, "score"),
        ("profile.sentiment", {"mean": float("inf")}, "mean"),
        ("profile.sentiment", {"mentions": 2**40}, "mentions"),
        ("profile.sentiment", {"label": {"secret": 1}}, "label"),
        ("profile.sentiment", {"author_id": [1, 2]}, "author_id"),
        ("profile.sentiment", {"last_at": "last tuesday-secret"}, "last_at"),
        ("profile.sentiment", {"updated_at": "secret"}, "updated_at"),
        ("profile.enriched", {"status": {"secret": 1}}, "status"),
        ("profile.enriched", {"updated_at": "secret"}, "updated_at"),
    ],
)
def test_a_finding_its_block_cannot_store_is_named_with_its_field(
    kind: str, data: dict[str, Any], field: str
) -> None:
    problem = finding_problem(finding(kind, data))
    assert problem is not None
    assert problem.startswith(f"a {kind} finding that cannot be stored: {field}")
    assert "secret" not in problem


def test_events_that_are_no_findings_are_not_checked() -> None:
    assert finding_problem(finding("auth.login", {"score": "abc"})) is None
