"""Folding the sentiment stage's summaries: the newest replaces the profile's block whole, in
any arrival order; the evidence stays readable on the profile."""

import itertools
from datetime import UTC, datetime, timedelta

from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from schemas import Event
from tests.helpers import envelope

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def summary(n: int, label: str, score: float, evidence: list[str]) -> Event:
    at = T0 + timedelta(hours=n)
    return Event.model_validate(
        envelope(
            event_id=f"sentiment-{n}",
            type="profile.sentiment",
            occurred_at=at.isoformat(),
            source="authstream",
            user={"user_id": "twitter|42"},
            data={
                "status": "ok",
                "updated_at": at.isoformat(),
                "handle": "amy",
                "label": label,
                "score": score,
                "mentions": len(evidence) + 1,
                "min": -0.9,
                "evidence": [{"id": e, "text": f"post {e}", "url": f"u/{e}"} for e in evidence],
            },
        )
    )


def test_the_newest_summary_wins_in_any_order_and_replaces_the_block_whole() -> None:
    events = [
        summary(0, "negative", -0.6, ["1"]),
        summary(2, "positive", 0.3, ["1", "2"]),
        summary(1, "negative", -0.4, ["1", "3"]),
    ]
    results = set()
    for order in itertools.permutations(events):
        profile, _ = fold(None, list(order), Taxonomy.load(), T0)
        assert profile.sentiment is not None
        results.add(
            (
                profile.sentiment.finding("label"),
                profile.sentiment.finding("score"),
                tuple(e["id"] for e in profile.sentiment.finding("evidence")),
            )
        )
    assert results == {("positive", 0.3, ("1", "2"))}
    profile, _ = fold(None, events, Taxonomy.load(), T0)
    document = profile.document()["sentiment"]
    assert document["handle"] == "amy" and document["min"] == -0.9
    assert document["updated_at"] == (T0 + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
