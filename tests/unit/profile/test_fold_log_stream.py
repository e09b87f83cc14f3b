"""What Log Stream events may say about a user: a proven address fills a gap, nothing more."""

import itertools
from datetime import UTC, datetime

from consumers.profile.facts import Taxonomy
from consumers.profile.fold import fold
from consumers.profile.model import Profile
from schemas import Event
from tests.helpers import envelope

NOW = datetime(2026, 11, 29, tzinfo=UTC)
TAXONOMY = Taxonomy.load()
USER = "auth0|66d4e5f6a7b8c9d0e1f2a3b4"


def logged(at: str, kind: str = "auth.login", **user: object) -> Event:
    return Event.model_validate(
        envelope(
            type=kind, occurred_at=at, source="auth0-log-stream", user={"user_id": USER, **user}
        )
    )


def synced(at: str, **user: object) -> Event:
    full = {"user_id": USER, "created_at": "2026-01-01T00:00:00Z", "identities": [], **user}
    return Event.model_validate(
        envelope(type="user.updated", occurred_at=at, source="auth0-sync", user=full)
    )


def folded(events: list[Event]) -> Profile:
    return fold(None, events, TAXONOMY, NOW)[0]


def test_a_log_stream_only_user_gets_the_address_and_count_its_records_carry() -> None:
    profile = folded(
        [
            logged("2026-09-01T08:00:00Z", "auth.signup", email="Chen.Wei@example.org"),
            logged("2026-09-02T08:00:00Z", "auth0.gd_auth_succeed", email="chen.wei@example.org"),
            logged("2026-09-03T08:00:00Z", logins_count=4, email="chen.wei@example.org"),
            logged("2026-11-12T10:30:00Z", "user.updated", email="wei.chen@example.org"),
        ]
    )
    assert profile.email == "wei.chen@example.org"  # the newest address the log proves
    assert profile.logins_count == 4 and profile.email_verified is None


def test_a_full_profile_always_wins_over_a_log_address_in_any_order() -> None:
    events = [
        logged("2026-09-03T08:00:00Z", email="old@example.org"),
        synced("2026-09-01T08:00:00Z", email="real@example.org", name="Chen Wei"),
        logged("2026-10-01T08:00:00Z", email="other@example.org"),
    ]
    for order in itertools.permutations(events):
        profile = folded(list(order))
        assert (profile.email, profile.name) == ("real@example.org", "Chen Wei")


def test_a_proven_verification_competes_by_time_with_the_full_profile() -> None:
    before = synced("2026-09-01T08:00:00Z", email="lena@example.com", email_verified=False)
    verified = logged("2026-09-02T08:31:00Z", "user.updated", email_verified=True)
    for order in ([before, verified], [verified, before]):
        assert folded(order).email_verified is True
    after = synced("2026-09-05T08:00:00Z", email="new@example.com", email_verified=False)
    assert folded([verified, after, before]).email_verified is False
