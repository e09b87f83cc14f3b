"""Events that build no profile (``data.builds_profile: false``) are history only."""

import random

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import dumps, envelope, eventually
from tests.workers import running


def publish(events: list[dict[str, object]], tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"batch{random.randrange(10**9)}.jsonl"
    path.write_bytes(b"\n".join(dumps(e) for e in events))
    assert main(["publish", str(path)]) == 0


def test_history_only_events_are_stored_once_build_no_profile_and_respect_erasure(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    admin = envelope(
        type="auth0.sapi",
        user={"user_id": "google-oauth2|113559834218840267412"},
        data={"builds_profile": False, "family": "management"},
    )
    unknown = envelope(
        type="auth.login_failed",
        user={"user_id": "auth0:no-user", "email": "pat.unknown@example.com"},
        data={"builds_profile": False},
    )
    customer = envelope(user={"user_id": "auth0|42", "email": "c@example.com"})
    erased = envelope(type="user.deleted", user={"user_id": "auth0|42"})
    late = envelope(
        type="auth0.actions_execution_failed",
        user={"user_id": "auth0|42"},
        data={"builds_profile": False},
    )
    publish([admin, unknown, customer, admin], tmp_path)  # a redelivered copy of one
    with running(settings):
        eventually(lambda: search.count_events(settings) == 3, message="three event documents")
        eventually(lambda: search.profile(settings, "auth0|42"))
        publish([erased], tmp_path)
        eventually(lambda: (search.profile(settings, "auth0|42") or {}).get("deleted_at"))
        publish([late], tmp_path)
        index = Names(settings.name_prefix).work_queue("index")
        eventually(lambda: broker.settled(settings, index))
    assert broker.drained(settings, index)
    assert search.profile(settings, "google-oauth2|113559834218840267412") is None
    assert search.profile(settings, "auth0:no-user") is None
    assert search.count_events(settings, **{"user.id": "auth0:no-user"}) == 1
    assert search.count_events(settings, **{"user.id": "auth0|42"}) == 0  # erased, late one too
    assert search.count_events(settings) == 2
