"""Log Stream users get full profiles; logs the stream missed are fetched; every family is kept."""

import json
import time
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.ingest.auth0_logs import envelope_from
from tests import broker, search
from tests.helpers import REPO_ROOT, eventually
from tests.integration.auth0.conftest import Configure
from tests.integration.ingest.test_server import ingest, post
from tests.standins.auth0_mgmt import Auth0StandIn
from tests.workers import running

DATA = REPO_ROOT / "tests" / "data" / "auth0_logs"


def stream(settings: Settings, tmp_path: Any, logs: list[dict[str, Any]]) -> None:
    """Publish tenant logs as the Log Stream would (the same mapping as ingest)."""
    path = tmp_path / f"stream-{logs[0]['log_id'][-6:]}.jsonl"
    envelopes = [envelope_from({"log_id": entry["log_id"], "data": entry}) for entry in logs]
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in envelopes))
    assert main(["publish", str(path)]) == 0


def index_queue(settings: Settings) -> str:
    return Names(settings.name_prefix).work_queue("index")


def test_a_log_stream_only_user_gets_a_full_profile_and_joins_the_campaign(
    auth0: Auth0StandIn, configure: Configure, tmp_path: Any
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    runner = auth0.add_user(
        {
            "user_id": "facebook|10219876543210",
            "email": "Diego.Alvarez@example.com",
            "email_verified": True,
            "name": "Diego Alvarez",
            "given_name": "Diego",
            "nickname": "diego",
            "gender": "male",
            "birthday": "05/15/1992",
            "identities": [{"provider": "facebook", "user_id": "10219876543210",
                            "connection": "facebook", "isSocial": True}],
            "created_at": "2026-10-01T09:00:00.000Z",
            "updated_at": "2026-11-20T18:30:00.000Z",
            "last_login": "2026-11-20T18:30:00.000Z",
            "logins_count": 14,
            "user_metadata": {"interests": ["trail running", "marathon"],
                              "marketing_opt_in": True},
        }
    )  # fmt: skip
    logs = [
        auth0.add_log(code, runner, details={"stats": {"loginsCount": 14}})
        for code in ("s", "ssa", "s")
    ]
    gone = {"user_id": "auth0|6650d3b7e2f4a8001c9b0000", "email": "gone@example.com"}
    logs.append(auth0.add_log("s", gone))  # deleted from Auth0 since: 404
    limited = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0",
               "x-ratelimit-reset": str(int(time.time()) + 1)}  # fmt: skip
    auth0.fail(429, times=1, headers=limited, body={"statusCode": 429, "message": "Global limit "
               "has been reached"}, path_prefix="/api/v2/users/")  # fmt: skip
    stream(settings, tmp_path, logs)
    names = Names(settings.name_prefix)
    with running(settings, ("index", "auth0")):
        profile = eventually(
            lambda: (p := search.profile(settings, runner["user_id"])) and p.get("gender") and p,
            message="the Auth0 profile folded in",
        )
        eventually(lambda: [r for r in auth0.requests_to("/api/v2/users/auth0") if r.fault is None])
        eventually(lambda: broker.settled(settings, names.work_queue("auth0")))
    assert broker.drained(settings, names.work_queue("auth0"))
    assert broker.message_count(settings, names.parking_lot("auth0")) == 0
    assert (search.profile(settings, gone["user_id"]) or {}).get("email") == "gone@example.com"
    assert profile["gender"] == "male" and profile["birth_date"] == "1992-05-15"
    assert "fitness" in profile["interests"] and profile["email"] == "diego.alvarez@example.com"
    assert profile["marketing_consent"] == "granted" and profile["logins_count"] == 14
    assert profile["counters"]["logins"] == 2  # the Log Stream's own logins
    search.refresh_users(settings)
    out = tmp_path / "members.jsonl"
    assert main(["segments", "export", "preorder-running-men", "--format", "jsonl",
                 "--output", str(out)]) == 0  # fmt: skip
    members = [json.loads(line) for line in out.read_text().splitlines()]
    assert [m["user_id"] for m in members] == [runner["user_id"]]
    # Three log events, one profile to fetch: asked once (and once more after the 429).
    asked = auth0.requests_to("/api/v2/users/")
    assert [r.fault for r in asked].count("fail") == 1
    for user_id in (runner["user_id"], gone["user_id"]):
        path = "/api/v2/users/" + quote(user_id, safe="")
        assert [r.fault for r in asked if r.path == path and r.fault is None] == [None]


def test_logs_the_stream_missed_are_fetched_and_indexed_once(
    auth0: Auth0StandIn, configure: Configure, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    [user] = auth0.seed_users(1)
    codes = ("ss", "s", "fp", "s", "slo", "s", "gd_send_sms", "s", "fu", "s")
    logs = [auth0.add_log(code, user) for code in codes]
    stream(settings, tmp_path, logs[:4])  # the stream delivered four, then stopped
    with running(settings):
        eventually(lambda: search.count_events(settings) == 4, message="the streamed logs")

    assert main(["sync", "auth0", "--logs"]) == 0
    out = capsys.readouterr().out
    assert f"from log {logs[3]['log_id']}" in out and "6 published" in out, out
    assert broker.message_count(settings, index_queue(settings)) == 6
    assert main(["sync", "auth0", "--logs"]) == 0  # nothing new: nothing published
    assert "0 published" in capsys.readouterr().out
    assert broker.message_count(settings, index_queue(settings)) == 6
    with running(settings):
        eventually(lambda: search.count_events(settings) == 10, message="the missed logs")
    profile = search.profile(settings, user["user_id"])
    assert profile is not None
    assert profile["counters"] == {"signups": 1, "logins": 5, "failed_logins": 2, "logouts": 1}

    # On a schedule: the auth0 stage reconciles by itself.
    later = [auth0.add_log("s", user) for _ in range(3)]
    settings = configure(auth0, auth0_logs_every_s="3600")
    with running(settings, ("index", "auth0")):
        eventually(
            lambda: search.count_events(settings, **{"event.dataset": "auth0-log-stream"}) == 13,
            message="reconciled on schedule",
        )
    fetched = [r.query["from"] for r in auth0.requests_to("/api/v2/logs") if "from" in r.query]
    assert fetched[-1] == logs[-1]["log_id"]  # from where the last reconciliation ended
    assert main(["sync", "auth0", "--logs"]) == 0
    assert f"from log {later[-1]['log_id']}: 0 read" in capsys.readouterr().out


def test_a_first_reconciliation_starts_at_the_oldest_log_auth0_keeps(
    auth0: Auth0StandIn, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure(auth0)
    assert main(["setup"]) == 0
    [user] = auth0.seed_users(1)
    logs = [auth0.add_log(code, user) for code in ("ss", "s", "slo", "s", "s")]
    assert main(["sync", "auth0", "--logs"]) == 0
    assert "5 published" in capsys.readouterr().out
    with running(settings):
        eventually(lambda: search.count_events(settings) == len(logs))


def _expected() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    records = [json.loads(line) for line in (DATA / "records.jsonl").read_text().splitlines()]
    return records, json.loads((DATA / "expected.json").read_text())["records"]


def test_every_family_is_kept_as_events_and_only_end_users_get_profiles(
    settings: Settings,
) -> None:
    records, expected = _expected()
    assert main(["setup"]) == 0
    with ingest(settings, AUTHSTREAM_INGEST_MAX_BYTES=str(1 << 20)) as url:
        answer = post(url, b"\n".join(orjson.dumps(r) for r in records))
        assert answer.status_code == 200, answer.text
        assert (answer.json()["published"], answer.json()["skipped"]) == (82, [])
    envelopes = {r["log_id"]: envelope_from(r) for r in records}
    profiled = {
        e["user"]["user_id"] for e in envelopes.values() if "builds_profile" not in e["data"]
    }
    erased = {e["user"]["user_id"] for e in envelopes.values() if e["type"] == "user.deleted"}
    kept = [i for i, e in envelopes.items() if e["user"]["user_id"] not in erased]
    with running(settings):
        eventually(lambda: search.count_events(settings) == len(kept), message="every event")
        eventually(lambda: broker.settled(settings, index_queue(settings)))
    assert broker.drained(settings, index_queue(settings))
    names = Names(settings.name_prefix)
    with search.client(settings) as es:
        es.indices.refresh(index=names.events_stream)
        hits = es.search(index=names.events_stream, query={"ids": {"values": kept}}, size=100)
        families = {h["_id"]: h["_source"]["data"]["family"] for h in hits["hits"]["hits"]}
        assert families == {i: expected[i]["family"] for i in kept}  # every family, as history
        es.indices.refresh(index=names.users_alias)
        found = es.search(index=names.users_alias, query={"match_all": {}}, size=100)
        profiles = {h["_id"]: h["_source"] for h in found["hits"]["hits"]}
    # Admins, machines and unknown users have no profile; erased users keep only a tombstone,
    # which searches do not see.
    assert set(profiles) == profiled - erased
    for user_id in erased:
        assert (search.profile(settings, user_id) or {}).get("deleted_at"), user_id
    for user_id in profiled - erased:
        mine = sorted(
            (r["data"]["date"], expected[r["log_id"]])
            for r in records
            if expected[r["log_id"]]["user_id"] == user_id
        )
        counts = [e["logins_count"] for _, e in mine if e.get("logins_count")]
        emails = [e["email"] for _, e in mine if e.get("email")]
        profile = profiles[user_id]
        assert profile.get("logins_count") == (max(counts) if counts else None), user_id
        assert profile.get("email") == (emails[-1].lower() if emails else None), user_id
        verified = any(e.get("email_verified") for _, e in mine)
        assert profile.get("email_verified") == (True if verified else None), user_id
