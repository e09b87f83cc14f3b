"""The enrich stage against the real RabbitMQ and Elasticsearch and a FullContact v3 stand-in."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import envelope, eventually, publish_events
from tests.standins.fullcontact import FullContactStandIn
from tests.workers import running

KEY = "fc-test-key-1234"


@pytest.fixture
def fullcontact() -> Iterator[FullContactStandIn]:
    with FullContactStandIn(KEY) as standin:
        yield standin


@pytest.fixture
def enrich_settings(
    settings: Settings, fullcontact: FullContactStandIn, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The test's settings with FullContact pointed at the stand-in (so the stage is on)."""
    monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_API_KEY", KEY)
    monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_BASE_URL", fullcontact.base_url)
    monkeypatch.setenv("AUTHSTREAM_FULLCONTACT_TIMEOUT_S", "1")
    assert main(["setup"]) == 0
    return Settings()


def signup(user_id: str, email: str | None, **user: object) -> dict[str, object]:
    fields = {"user_id": user_id, **user}
    if email:
        fields["email"] = email
    return envelope(type="auth.signup", occurred_at="2026-11-01T10:00:00Z", user=fields)


def login(user_id: str, email: str | None, day: int) -> dict[str, object]:
    fields = {"user_id": user_id, **({"email": email} if email else {})}
    return envelope(type="auth.login", occurred_at=f"2026-11-{day:02d}T10:00:00Z", user=fields)


def enrichment(settings: Settings, user_id: str) -> dict[str, object] | None:
    profile = search.profile(settings, user_id) or {}
    return (profile.get("enrichment") or {}).get("fullcontact")


def test_a_man_known_only_to_fullcontact_joins_the_running_campaign_through_run_all(
    enrich_settings: Settings, fullcontact: FullContactStandIn, tmp_path
) -> None:
    fullcontact.add_person(
        "marcus@example.com",
        "Marcus Reed",
        gender="Male",
        birthday=date(1994, 5, 17),
        interests=["Running", "Fitness"],
        twitter="marcus_runs",
    )
    publish_events(
        [signup("auth0|marcus", "marcus@example.com", name="Marcus")], tmp_path
    )  # no gender, no birthday, no likes: Auth0 knows only the email
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--stage", "all"],
        env=os.environ | {"AUTHSTREAM_METRICS_PORT": "0"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = eventually(
            lambda: (enrichment(enrich_settings, "auth0|marcus") or {}).get("status"),
            timeout=60,
            message="FullContact's answer folded into the profile",
        )
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert done == "enriched", stderr
    profile = search.profile(enrich_settings, "auth0|marcus")
    assert profile is not None
    assert profile["gender"] == "male" and profile["birth_date"] == "1994-05-17"
    assert (
        "fitness" in profile["interests"]
        and "fullcontact" in profile["interest_sources"]["fitness"]
    )
    assert profile["twitter_handle"] == "marcus_runs"
    assert profile["provenance"]["gender"]["source"] == "fullcontact"
    search.refresh_users(enrich_settings)
    assert (
        main(
            [
                "segments",
                "export",
                "preorder-running-men",
                "--format",
                "jsonl",
                "--output",
                str(tmp_path / "men.jsonl"),
            ]
        )
        == 0
    )
    assert '"user_id":"auth0|marcus"' in (tmp_path / "men.jsonl").read_text()
    assert fullcontact.calls_for("marcus@example.com") == 1


def test_each_email_is_asked_once_404s_are_remembered_429s_wait_and_no_email_means_no_call(
    enrich_settings: Settings, fullcontact: FullContactStandIn, tmp_path
) -> None:
    fullcontact.add_person("zoe@example.com", "Zoe Park", gender="Female")
    fullcontact.throttle(times=1, retry_after=1)  # the very first call is refused: wait 1 s
    publish_events(
        [
            signup("auth0|zoe", "zoe@example.com"),
            signup("auth0|nobody", "nobody@example.com"),  # FullContact does not know them
            signup("auth0|anon", None),  # no email: never sent
        ],
        tmp_path,
    )
    with running(enrich_settings, ("index", "enrich")):
        eventually(lambda: enrichment(enrich_settings, "auth0|zoe"), timeout=60, message="zoe")
        eventually(lambda: enrichment(enrich_settings, "auth0|nobody"), timeout=60)
        # Later logins inside the freshness window: nothing new is asked.
        publish_events(
            [
                login("auth0|zoe", "zoe@example.com", 20),
                login("auth0|nobody", "nobody@example.com", 20),
                login("auth0|anon", None, 20),
            ],
            tmp_path,
        )
        eventually(
            lambda: search.count_events(enrich_settings, **{"event.action": "auth.login"}) == 3,
            message="the logins indexed",
        )
        eventually(lambda: (search.profile(enrich_settings, "auth0|anon") or {}).get("counters"))
    asked = fullcontact.requests_to("/v3/person.enrich")
    assert len(asked) == 3  # two emails, and the one that got the 429 once more
    [refused] = [r for r in asked if r.fault is not None]
    email = refused.json["email"]  # type: ignore[index]
    again = [r for r in asked if r.fault is None and (r.json or {}).get("email") == email]
    assert len(again) == 1 and again[0].received_at - refused.received_at >= 0.95
    assert (
        fullcontact.calls_for("zoe@example.com") + fullcontact.calls_for("nobody@example.com") == 3
    )
    assert enrichment(enrich_settings, "auth0|nobody")["status"] == "not_found"  # type: ignore[index]
    assert enrichment(enrich_settings, "auth0|zoe")["status"] == "enriched"  # type: ignore[index]
    assert all((r.json or {}).get("email") for r in asked)  # nobody asked about without an email
    anon = search.profile(enrich_settings, "auth0|anon") or {}
    assert not anon.get("enrichment") and not anon.get("requested")


def test_while_fullcontact_is_down_logins_are_indexed_and_afterwards_everyone_is_enriched_once(
    enrich_settings: Settings, fullcontact: FullContactStandIn, tmp_path
) -> None:
    names = Names(enrich_settings.name_prefix)
    people = [f"runner{n}@example.com" for n in range(6)]
    for n, email in enumerate(people):
        fullcontact.add_person(email, f"Runner {n}", gender="Male")
    fullcontact.unavailable(times=None, status=503)  # down until cleared
    publish_events([signup(f"auth0|r{n}", email) for n, email in enumerate(people)], tmp_path)
    with running(enrich_settings, ("index", "enrich")):
        # Indexing goes on at full speed: every profile is there while FullContact is down.
        eventually(
            lambda: all(search.profile(enrich_settings, f"auth0|r{n}") for n in range(6)),
            message="profiles indexed during the outage",
        )
        eventually(lambda: len(fullcontact.requests_to("/v3/person.enrich")) >= 3)
        outage_calls = len(fullcontact.requests_to("/v3/person.enrich"))
        assert all(enrichment(enrich_settings, f"auth0|r{n}") is None for n in range(6))
        assert broker.message_count(enrich_settings, names.parking_lot("enrich")) == 0
        fullcontact.clear_faults()
        eventually(
            lambda: all(enrichment(enrich_settings, f"auth0|r{n}") for n in range(6)),
            timeout=90,
            message="everyone enriched after the recovery",
        )
    # The circuit breaker kept the outage cheap: a few probes, not a call per message per retry.
    assert outage_calls <= 20
    assert all(fullcontact.matches[email] == 1 for email in people)  # one answer each
    for n in range(6):
        assert (
            search.count_events(
                enrich_settings, **{"user.id": f"auth0|r{n}", "event.action": "profile.enriched"}
            )
            == 1
        )
    assert broker.message_count(enrich_settings, names.parking_lot("enrich")) == 0


def test_rejected_credentials_hold_the_stage_loudly_and_park_nothing(
    enrich_settings: Settings, fullcontact: FullContactStandIn, tmp_path
) -> None:
    names = Names(enrich_settings.name_prefix)
    fullcontact.add_person("kim@example.com", "Kim Lee")
    fullcontact.api_key = "rotated-key"  # ours is no longer valid
    publish_events([signup("auth0|kim", "kim@example.com")], tmp_path)
    with running(enrich_settings, ("index", "enrich")):
        eventually(lambda: fullcontact.requests_to("/v3/person.enrich"), message="one attempt")
        eventually(lambda: search.profile(enrich_settings, "auth0|kim"), message="indexing goes on")
        assert broker.message_count(enrich_settings, names.parking_lot("enrich")) == 0
        fullcontact.api_key = KEY  # the key is fixed: the held work goes through
        eventually(lambda: enrichment(enrich_settings, "auth0|kim"), timeout=90)
    assert fullcontact.matches["kim@example.com"] == 1
