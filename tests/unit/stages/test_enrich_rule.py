from datetime import UTC, datetime, timedelta

from consumers.core.settings import Settings
from consumers.enrich import email_hash
from consumers.profile.model import Block, Profile
from consumers.stages.derived import Change, record
from consumers.stages.enrich import enrichment_wanted
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = Settings(fullcontact_api_key="fc-key-1234", enrich_max_age_days=90)
CAUSE = Event.model_validate(envelope(type="auth.login"))


def wanted(profile: Profile) -> list[str]:
    change = Change(None, profile, CAUSE, ["email"], NOW)
    return [d.routing_key for d in enrichment_wanted(change, SETTINGS)]


def answered(email: str, status: str, days_ago: int) -> Block:
    return Block.model_validate(
        {
            "status": status,
            "provider": "fullcontact",
            "updated_at": NOW - timedelta(days=days_ago),
            "email_hash": email_hash(email),
        }
    )


def test_a_profile_with_an_email_and_no_answer_asks_once_per_provider() -> None:
    assert wanted(Profile(user_id="u", email="a@x.io")) == ["enrich.requested.fullcontact"]


def test_no_email_means_no_call() -> None:
    assert wanted(Profile(user_id="u")) == []


def test_a_fresh_answer_for_the_same_email_is_enough_whatever_it_said() -> None:
    for status in ("enriched", "not_found"):
        profile = Profile(user_id="u", email="a@x.io")
        profile.enrichment["fullcontact"] = answered("a@x.io", status, 89)
        assert wanted(profile) == []


def test_stale_answers_errors_after_a_day_and_a_new_email_ask_again() -> None:
    stale = Profile(user_id="u", email="a@x.io")
    stale.enrichment["fullcontact"] = answered("a@x.io", "enriched", 91)
    errored = Profile(user_id="u", email="a@x.io")
    errored.enrichment["fullcontact"] = answered("a@x.io", "error", 2)
    moved = Profile(user_id="u", email="new@x.io")
    moved.enrichment["fullcontact"] = answered("a@x.io", "enriched", 1)
    assert wanted(stale) == wanted(errored) == wanted(moved) == ["enrich.requested.fullcontact"]


def test_a_request_still_waiting_in_the_queue_is_not_made_again() -> None:
    profile = Profile(user_id="u", email="a@x.io")
    record(profile, enrichment_wanted(Change(None, profile, CAUSE, [], NOW), SETTINGS))
    assert wanted(profile) == []
    later = Change(None, profile, CAUSE, [], NOW + timedelta(hours=7))
    assert len(enrichment_wanted(later, SETTINGS)) == 1  # it was lost: ask again
