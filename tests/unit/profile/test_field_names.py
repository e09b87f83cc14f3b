"""Findings fold into documents Elasticsearch can parse, whatever keys their data carries."""

from datetime import UTC, datetime
from typing import Any

from consumers.profile.facts import Taxonomy
from consumers.profile.field_names import FINDING_UNINDEXED, indexable
from consumers.profile.fold import fold
from consumers.store.layout import USERS_MAPPING
from schemas import Event

NOW = datetime(2026, 11, 29, tzinfo=UTC)
BAD = {"": 1, " ": 2, ".x": 3, "x.": 4, "a..b": 5, "a.b": 6}


def _finding(kind: str, data: dict[str, Any], second: int) -> Event:
    return Event.model_validate(
        {
            "schema": "authstream.event/1",
            "event_id": f"{kind}-{second}",
            "type": kind,
            "occurred_at": f"2026-11-01T00:00:{second:02d}Z",
            "source": "authstream",
            "tenant": "innovashoes",
            "user": {"user_id": "auth0|f1"},
            "data": data,
        }
    )


def test_names_elasticsearch_refuses_are_dropped_at_every_depth_but_unindexed_ones() -> None:
    data = {**BAD, "label": "negative", "nested": [{**BAD, "ok": 1}], "response": dict(BAD)}
    assert indexable(data, FINDING_UNINDEXED) == {
        "label": "negative",
        "nested": [{"ok": 1}],
        "response": BAD,  # kept as the provider sent it: never read by Elasticsearch
    }


def test_findings_with_odd_keys_fold_into_documents_without_them() -> None:
    events = [
        _finding("profile.enriched", {"provider": "fullcontact", **BAD, "response": BAD}, 1),
        _finding("profile.sentiment", {"label": "negative", "extra": {**BAD}}, 2),
    ]
    profile, _ = fold(None, events, Taxonomy.load(similarity=False), NOW)
    document = profile.document()
    enriched = document["enrichment"]["fullcontact"]
    assert not set(BAD) & set(enriched) and enriched["response"] == BAD
    assert document["sentiment"]["label"] == "negative" and document["sentiment"]["extra"] == {}


def test_the_unindexed_keys_are_the_mappings() -> None:
    finding = USERS_MAPPING["properties"]["enrichment"]["properties"]["fullcontact"]
    sentiment = USERS_MAPPING["properties"]["sentiment"]["properties"]
    unindexed = {
        key
        for properties in (finding["properties"], sentiment)
        for key, field in properties.items()
        if field.get("enabled") is False
    }
    assert unindexed == FINDING_UNINDEXED
