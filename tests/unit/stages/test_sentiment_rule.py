"""When the index stage asks the sentiment stage for a user (``sentiment_wanted``), and what the
stage's configuration means (catalog, setup)."""

from datetime import UTC, datetime, timedelta

import pytest

from consumers.core.settings import Settings
from consumers.profile.model import Profile
from consumers.stages.catalog import enabled_stages, stage_statuses
from consumers.stages.derived import Change, record
from consumers.stages.sentiment import REQUESTED, describe_mode, sentiment_wanted
from schemas import Event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = Settings(brand_handle="@InnovaShoes", sentiment_refresh_hours=24)


def cause() -> Event:
    return Event.model_validate(
        {
            "schema": "authstream.event/1",
            "event_id": "login-1",
            "type": "auth.login",
            "occurred_at": NOW.isoformat(),
            "user": {"user_id": "twitter|42"},
        }
    )


def change(after: Profile, now: datetime = NOW) -> Change:
    return Change(None, after, cause(), ["twitter_handle"], now)


def profile(**fields: object) -> Profile:
    identities = [{"provider": "twitter", "user_id": "42"}]
    base = {"user_id": "twitter|42", "twitter_handle": "amy", "auth0": {"identities": identities}}
    return Profile.model_validate(base | fields)


def looked(handle: str, at: datetime) -> dict[str, object]:
    return {"updated_at": at.isoformat(), "handle": handle, "looked_up_at": at.isoformat()}


def test_a_profile_that_gains_a_handle_asks_for_a_look_up_once() -> None:
    after = profile()
    wanted = sentiment_wanted(change(after), SETTINGS)
    assert [d.routing_key for d in wanted] == [REQUESTED]
    assert wanted[0].body["data"] == {"handle": "amy", "author_id": ["42"]}
    assert wanted[0].body["user"] == {"user_id": "twitter|42"}
    record(after, wanted)  # the index stage remembers the request with the profile
    assert sentiment_wanted(change(after, NOW + timedelta(hours=1)), SETTINGS) == []
    # a request that waited longer than the window (the stage was down) is made again
    assert len(sentiment_wanted(change(after, NOW + timedelta(hours=7)), SETTINGS)) == 1


def test_no_handle_or_an_erased_user_asks_nothing() -> None:
    assert sentiment_wanted(change(profile(twitter_handle=None)), SETTINGS) == []
    assert sentiment_wanted(change(profile(deleted_at=NOW.isoformat())), SETTINGS) == []


@pytest.mark.parametrize(
    ("block", "asks"),
    [
        (looked("amy", NOW - timedelta(hours=23)), False),  # fresh: within the interval
        (looked("amy", NOW - timedelta(hours=25)), True),  # stale: refresh
        (looked("old_name", NOW - timedelta(hours=1)), True),  # another handle: look this one up
        ({"updated_at": NOW.isoformat(), "handle": "amy"}, True),  # never looked up on X
    ],
)
def test_the_last_look_up_decides_whether_to_refresh(block: dict[str, object], asks: bool) -> None:
    wanted = sentiment_wanted(change(profile(sentiment=block)), SETTINGS)
    assert bool(wanted) is asks


def test_the_stage_is_on_with_a_brand_handle_and_setup_says_what_it_does() -> None:
    assert "sentiment" not in [s.name for s in enabled_stages(Settings())]
    off = next(s for s in stage_statuses(Settings()) if s.name == "sentiment")
    assert (off.enabled, off.reason) == (False, "AUTHSTREAM_BRAND_HANDLE is not set")
    on = next(s for s in stage_statuses(SETTINGS) if s.name == "sentiment")
    assert on.enabled and "imported mentions only" in on.reason
    assert SETTINGS.brand_handle == "InnovaShoes"
    with_x = Settings(brand_handle="InnovaShoes", x_bearer_token="x-token-123")
    assert describe_mode(with_x).startswith(
        "X recent search for @InnovaShoes: per user every 168 h, sweep every 60 min, "
        "10,000 posts/month; scored by "
    )
    assert "x-token-123" not in repr(with_x)
    assert "x-token-123" in with_x.secret_values()


@pytest.mark.parametrize("handle", ["Innova Shoes", "@", "sixteen_chars_xx"])
def test_a_brand_handle_must_be_an_x_handle(handle: str) -> None:
    with pytest.raises(ValueError, match="X handle"):
        Settings(brand_handle=handle)
