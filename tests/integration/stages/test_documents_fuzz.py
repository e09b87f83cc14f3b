"""Fuzzing what the index stage writes, against the real Elasticsearch mappings: a profile folded
from any valid events (odd metadata, enrichment answers of any shape) is always a document the
users index takes; an event document is taken, or refused as a document Elasticsearch cannot parse
(nested deeper than the events mapping allows, a NUL in a key): an item-level refusal the stage
parks alone with its reason, never one that would take its neighbours down."""

from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import ApiError
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.stages.index import event_document
from tests import search
from tests.fuzz import PROFILES, fuzz
from tests.strategies import envelopes, sound_json_values, to_json

TAXONOMY = Taxonomy.load()
NOW = datetime(2026, 11, 29, tzinfo=UTC)
SHARED_FIXTURES = [*PROFILES["small"].suppress_health_check, HealthCheck.function_scoped_fixture]
# How Elasticsearch may refuse one event document: the index stage parks it with the reason.
PARKED_REFUSALS = ("document_parsing_exception", "mapper_parsing_exception")


@pytest.fixture
def layout(settings: Settings) -> Settings:
    assert main(["setup"]) == 0
    return settings


@fuzz(0.2, suppress_health_check=SHARED_FIXTURES)
@given(st.lists(envelopes, min_size=1, max_size=4), sound_json_values, st.integers(0, 9_999))
def test_profiles_from_any_valid_events_are_documents_the_users_index_takes(
    layout: Settings, raw: list[dict[str, Any]], response: Any, n: int
) -> None:
    user_id = f"auth0|fuzz{n}"
    for event in raw:
        event["user"]["user_id"] = user_id
    raw[0]["type"] = "profile.enriched"  # an enrichment answer of any shape
    raw[0]["data"] = {"provider": "fullcontact", "status": "enriched", "response": response}
    events = [decode_event(to_json(e), 1 << 20) for e in raw]
    profile, _ = fold(None, events, TAXONOMY, NOW)
    names = Names(layout.name_prefix)
    with search.client(layout) as es:
        written = es.index(index=names.users_alias, id=user_id, document=profile.document())
        assert written["result"] in ("created", "updated")
        for event in events:
            try:
                es.index(index=names.events_stream, document=event_document(event, NOW))
            except ApiError as exc:
                assert exc.meta.status == 400 and exc.error in PARKED_REFUSALS, exc
