"""`authstream users show`: one profile, where each fact came from, its latest events."""

import re

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.settings import Settings
from tests.integration.people.conftest import TENANT


def show(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> str:
    capsys.readouterr()
    assert main(["users", "show", *argv]) == status
    return capsys.readouterr().out


def section(text: str, title: str) -> list[str]:
    """The indented lines under a section title."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        body.append(re.sub(r"\s{2,}", " | ", line.strip()))
    return body


def event_id(n: int) -> str:
    return str(TENANT[n]["event_id"])


def test_each_fact_says_where_it_came_from(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = show(capsys, "facebook|1")
    assert out.startswith("facebook|1  Chloé Dubois  (tenant innovashoes)")
    identity = section(out, "Identity")
    # The login (event 1) is the latest event that stated the email and name.
    assert identity[0].startswith(f"email | chloe.dubois@example.com | auth0 · event {event_id(1)}")
    assert identity[1].startswith(f"name | Chloé Dubois | auth0 · event {event_id(1)}")
    facts = section(out, "Facts")
    assert facts[0].startswith("gender | female | auth0 · user.gender · observed ")
    assert re.match(r"birth date \| 1990-08-31 \(age \d+\) \| auth0 · user\.birthday", facts[1])
    assert facts[2].startswith("location | Paris, FR | auth0 · context.geo · observed ")
    assert section(out, "Interests") == ["fitness | Facebook likes", "running | Facebook likes"]
    [consent] = section(out, "Marketing consent")
    assert consent.startswith("refused: stated by auth0-action: app_metadata.marketing_consent")
    assert consent.endswith("exports (opt-out policy): left out")
    assert "returned after signing up: yes" in out
    events = section(out, "Latest events (2 of 2)")
    assert events[0].split(" | ")[1:] == ["auth.login", "facebook", "198.51.100.7", "Paris FR"]
    assert events[1].split(" | ")[1] == "auth.signup"


def test_enrichment_facts_name_the_provider_and_field(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = show(capsys, "auth0|3")
    facts = section(out, "Facts")
    assert facts[0].startswith("birth date | born about ")
    assert (
        "estimated from a range) | fullcontact · enrichment.fullcontact.response.ageRange"
        in (facts[0])
    )
    assert facts[2].startswith(
        "employment | CTO — Acme Shoes | fullcontact · enrichment.fullcontact.response.details"
        ".employment · observed "
    )
    assert section(out, "Interests") == [
        "cycling | declared by the user (user_metadata.interests)",
        "fitness | FullContact interests",
        "outdoors | FullContact interests",
        "running | FullContact interests",
    ]
    assert section(out, "Enrichment and sentiment")[0].startswith("fullcontact | enriched")
    assert section(out, "Marketing consent") == [
        "unknown: never stated; exports (opt-out policy): included"
    ]


def test_the_consent_policy_changes_the_verdict(
    tenant: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHSTREAM_CONSENT_POLICY", "opt-in")
    out = show(capsys, "auth0|3")
    assert section(out, "Marketing consent") == [
        "unknown: never stated; exports (opt-in policy): left out"
    ]


def test_an_email_in_any_case_finds_the_profile(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show(capsys, "CHLOE.Dubois@example.COM").startswith("facebook|1  Chloé Dubois")


def test_events_are_newest_first_and_limited(
    tenant: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = show(capsys, "facebook|1", "--events", "1")
    assert len(section(out, "Latest events (1 of 2)")) == 1
    record = orjson.loads(show(capsys, "facebook|1", "--format", "json"))
    assert record["profile"]["user_id"] == "facebook|1"
    assert [e["event"]["id"] for e in record["events"]] == [event_id(1), event_id(0)]


def test_an_unknown_user_is_reported(tenant: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "show", "auth0|nobody"]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "no profile with user id or email 'auth0|nobody'" in printed.err
