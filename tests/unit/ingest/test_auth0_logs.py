"""The Log Stream mapping, table-driven from records shaped like Auth0's (tests/data/auth0_logs)."""

import json
import re
from typing import Any

import orjson
import pytest

from consumers.auth0 import history_only_families
from consumers.core.errors import ConfigurationError, InvalidEvent
from consumers.core.settings import Settings
from consumers.ingest.auth0_log_types import catalogue
from consumers.ingest.auth0_logs import NO_USER, as_json, envelope_from, tenant_of
from consumers.pipeline.decode import decode_event
from schemas.envelope import EVENT_TYPE_PATTERN
from tests.helpers import REPO_ROOT

DATA = REPO_ROOT / "tests" / "data" / "auth0_logs"
RECORDS = [json.loads(line) for line in (DATA / "records.jsonl").read_text().splitlines()]
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())["records"]


def customer(envelope: dict[str, Any]) -> str | None:
    """The user whose profile the event builds, or None for history-only events."""
    return None if envelope["data"].get("builds_profile") is False else envelope["user"]["user_id"]


@pytest.mark.parametrize(
    "record", RECORDS, ids=[f"{r['data']['type']}-{r['log_id'][-6:]}" for r in RECORDS]
)
def test_every_record_becomes_a_valid_event_as_expected(record: dict[str, Any]) -> None:
    expected = EXPECTED[record["log_id"]]
    envelope = envelope_from(record)
    event = decode_event(orjson.dumps(envelope), 1 << 20)  # the contract every way in keeps
    assert event.event_id == record["log_id"] and event.source == "auth0-log-stream"
    data = envelope["data"]
    assert (data["family"], envelope["type"]) == (expected["family"], expected["authstream_type"])
    assert customer(envelope) == expected["user_id"]
    assert (customer(envelope) is not None) == expected["builds_profile"]
    user = envelope["user"]
    assert user.get("email") == expected.get("email")
    assert user.get("logins_count") == expected.get("logins_count")
    assert user.get("email_verified") == expected.get("email_verified")
    assert data.get("actor") == expected.get("actor")
    assert data.get("target_user_id") == expected.get("target_user_id")
    assert "name" not in user  # user_name is a username, a phone or a display name as often


def test_every_family_of_the_catalogue_is_in_the_test_records() -> None:
    families = {EXPECTED[r["log_id"]]["family"] for r in RECORDS}
    assert families == set(catalogue().families)


def test_records_that_build_no_profile_still_name_whom_they_are_about() -> None:
    by_type = {(r["data"]["type"], EXPECTED[r["log_id"]].get("note")): r for r in RECORDS}
    admin = next(r for (t, _), r in by_type.items() if t == "sapi" and r["data"].get("user_id"))
    assert envelope_from(admin)["user"]["user_id"] == admin["data"]["user_id"]
    machine = next(
        r
        for (t, n), r in by_type.items()
        if t == "sapi" and n == "machine call: no user_id key at all"
    )
    assert envelope_from(machine)["user"]["user_id"] == machine["data"]["client_id"] + "@clients"
    unknown = next(r for (t, _), r in by_type.items() if t == "f")
    assert envelope_from(unknown)["user"]["user_id"] == NO_USER


def test_the_catalogue_maps_every_code_to_a_known_family_and_a_valid_type() -> None:
    known = catalogue()
    assert len(known.types) >= 186
    for log_type in known.types.values():
        assert log_type.family in known.families, log_type.code
        assert re.match(EVENT_TYPE_PATTERN, log_type.event_type), log_type.code
    fallback = known.lookup("Session-Risk")
    assert (fallback.family, fallback.end_user, fallback.event_type, fallback.known) == (
        "other",
        False,
        "auth0.session_risk",
        False,
    )


@pytest.mark.parametrize(
    ("data", "default", "tenant"),
    [
        ({"tenant_name": "InnovaShoes", "hostname": "x.eu.auth0.com"}, None, "innovashoes"),
        ({"tenant_name": "", "hostname": "innovashoes.eu.auth0.com"}, None, "innovashoes"),
        ({"hostname": "innovashoes.auth0.com"}, None, "innovashoes"),
        ({"details": {"body": {"tenant": "innovashoes"}}}, None, "innovashoes"),
        ({"hostname": "login.innovashoes.example"}, None, None),
        ({"hostname": "login.innovashoes.example"}, "innovashoes", "innovashoes"),
        ({}, "innovashoes", "innovashoes"),
    ],
)
def test_the_tenant_is_the_tenant_name_however_the_record_spells_it(
    data: dict[str, Any], default: str | None, tenant: str | None
) -> None:
    assert tenant_of(data, default) == tenant


def test_the_readme_table_lists_every_family_with_its_codes() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    known = catalogue()
    for family in known.families:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{family}` |")), "")
        assert row, f"README has no row for family {family}"
        for code in known.codes_of(family):
            assert f"`{code}`" in row, f"README row {family} misses {code}"


def test_families_the_action_publishes_can_be_kept_as_history_only() -> None:
    login = next(r for r in RECORDS if r["data"]["type"] == "s")
    families = history_only_families(Settings(auth0_logs_history_only="login, signup"))
    envelope = envelope_from(login, None, families)
    assert envelope["data"]["builds_profile"] is False
    assert envelope["user"]["user_id"] == login["data"]["user_id"]  # still whom it is about
    assert "builds_profile" not in envelope_from(login)["data"]
    with pytest.raises(ConfigurationError, match="unknown family logins"):
        history_only_families(Settings(auth0_logs_history_only="logins"))


def test_a_long_log_id_is_shortened_in_the_reason() -> None:
    """Found by fuzzing: a 5,000-character log_id made a 5,000-character reason."""
    with pytest.raises(InvalidEvent) as info:
        envelope_from({"log_id": "9" * 5_000})
    assert info.value.reason == "log " + "9" * 63 + "…: no 'data' object"


def test_a_record_nested_deeper_than_json_writers_go_is_skipped_with_a_reason() -> None:
    """Found by fuzzing: orjson's TypeError escaped, and the ingest endpoint answered 500."""
    deep: object = "leaf"
    for _ in range(300):
        deep = [deep]
    envelope = envelope_from({"log_id": "9001", "data": {"type": "s", "user_agent": deep}})
    with pytest.raises(InvalidEvent) as info:
        as_json(envelope)
    assert info.value.reason == "log 9001: not writable as JSON (recursion limit reached)"
