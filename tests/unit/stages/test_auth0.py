"""When the index stage asks the auth0 stage for a user's Auth0 profile."""

from datetime import UTC, datetime, timedelta

from consumers.core.settings import Settings
from consumers.profile.model import Profile
from consumers.stages.auth0 import REQUEST_KEY, ROUTING_KEY, auth0_profile_wanted
from consumers.stages.derived import Change
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
SETTINGS = Settings()


def change(profile: Profile) -> Change:
    cause = Event.model_validate(
        envelope(source="auth0-log-stream", user={"user_id": profile.user_id})
    )
    return Change(None, profile, cause, ["last_seen"], NOW)


def test_a_user_known_only_from_the_log_stream_is_asked_for_once_in_a_while() -> None:
    profile = Profile(user_id="facebook|10219876543210", auth0={"email": "d@example.com"})
    [request] = auth0_profile_wanted(change(profile), SETTINGS)
    assert request.routing_key == ROUTING_KEY
    assert request.body["data"] == {"user_id": "facebook|10219876543210"}
    assert request.request_key == REQUEST_KEY and request.request_value == NOW.isoformat()
    profile.requested[REQUEST_KEY] = (NOW - timedelta(hours=1)).isoformat()
    assert auth0_profile_wanted(change(profile), SETTINGS) == []  # still waiting in the queue
    profile.requested[REQUEST_KEY] = (NOW - timedelta(hours=7)).isoformat()
    assert len(auth0_profile_wanted(change(profile), SETTINGS)) == 1


def test_nothing_is_asked_for_profiles_that_have_one_or_are_not_auth0_users() -> None:
    full = Profile(user_id="auth0|1", auth0={"created_at": "2026-01-01T00:00:00Z"})
    assert auth0_profile_wanted(change(full), SETTINGS) == []
    from_action = Profile(user_id="auth0|2", auth0={"identities": []})
    assert auth0_profile_wanted(change(from_action), SETTINGS) == []
    for user_id in ("shop-visitor-17", "auth0:no-user", "xV3nL8qK1wE6@clients"):
        assert auth0_profile_wanted(change(Profile(user_id=user_id)), SETTINGS) == []
    erased = Profile(user_id="auth0|3", deleted_at=NOW)
    assert auth0_profile_wanted(change(erased), SETTINGS) == []
