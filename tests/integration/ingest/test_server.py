"""`authstream ingest` over real HTTP into the real RabbitMQ, with Auth0 Log Stream shapes."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.pipeline.decode import decode_event
from tests import broker, search
from tests.helpers import auth0_log as log
from tests.helpers import eventually
from tests.ingest_process import ingest_process
from tests.workers import running

TOKEN = "log-stream-token-8f2c"


RECORDS = [
    log("90020261129101500123000000000000000000000000000000000001", "s"),
    log("90020261129101500123000000000000000000000000000000000002", "ss"),
    log("90020261129101500123000000000000000000000000000000000003", "fp"),
    log("90020261129101500123000000000000000000000000000000000004", "sdu"),
    log("90020261129101500123000000000000000000000000000000000005", "slo"),
    log("90020261129101500123000000000000000000000000000000000006", "gd_send_sms"),
]


@contextmanager
def ingest(settings: Settings, **env: str) -> Iterator[str]:
    limits = {"AUTHSTREAM_INGEST_TOKEN": TOKEN, "AUTHSTREAM_INGEST_MAX_BYTES": "65536"}
    with ingest_process(limits | env) as url:
        yield url


def post(url: str, body: bytes, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    return httpx.post(f"{url}/auth0/logs", content=body, headers=headers, timeout=10)


def test_jsonlines_become_confirmed_events_with_the_right_types(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index = Names(settings.name_prefix).work_queue("index")
    with ingest(settings) as url:
        body = b"\n".join(orjson.dumps(r) for r in RECORDS)
        response = post(url, body, token=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.text
        assert response.json() == {"published": 6, "skipped_count": 0, "skipped": []}
        # 2xx came after the confirms: the events are already in the queue.
        messages = broker.drain(settings, index)
    by_id = {p.message_id: (m.routing_key, decode_event(b, 1 << 20)) for m, p, b in messages}
    assert len(by_id) == 6
    types = [by_id[r["log_id"]][0] for r in RECORDS]
    assert types == [
        "auth.login", "auth.signup", "auth.login_failed", "user.deleted", "auth.logout",
        "auth0.gd_send_sms",
    ]  # fmt: skip
    _, event = by_id[RECORDS[0]["log_id"]]
    assert event.event_id == RECORDS[0]["log_id"] and event.source == "auth0-log-stream"
    assert event.user.user_id == "auth0|5f1d" and event.user.email == "runner@example.com"
    assert event.context.ip == "203.0.113.9" and event.data["auth0_log_type"] == "s"


def test_array_and_object_bodies_and_skipped_records(settings: Settings) -> None:
    assert main(["setup"]) == 0
    index = Names(settings.name_prefix).work_queue("index")
    with ingest(settings) as url:
        # A failed login of an unknown user is kept (as history); a record without a log_id
        # cannot become an event.
        no_id = {"data": log("x", "s")["data"]}
        no_id["data"].pop("log_id")
        array = orjson.dumps([RECORDS[0], log("no-user", "fu", user_id=None), no_id])
        answer = post(url, array)
        assert answer.status_code == 200
        assert answer.json()["published"] == 2
        assert answer.json()["skipped"] == [{"record": 2, "reason": "log record without a log_id"}]
        assert post(url, orjson.dumps(RECORDS[1])).json()["published"] == 1
    assert broker.message_count(settings, index) == 3


def test_bad_requests_get_clear_answers(settings: Settings) -> None:
    assert main(["setup"]) == 0
    with ingest(settings) as url:
        assert post(url, orjson.dumps(RECORDS[0]), token=None).status_code == 401
        assert post(url, orjson.dumps(RECORDS[0]), token="Bearer wrong").status_code == 401
        bad = post(url, b'{"log_id": "1", "data": {\nnot json')
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
        too_large = post(url, b"x" * 70_000)
        assert too_large.status_code == 413
        assert too_large.json() == {
            "error": "the body is over 65,536 bytes (AUTHSTREAM_INGEST_MAX_BYTES)"
        }
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    index = Names(settings.name_prefix).work_queue("index")
    assert broker.message_count(settings, index) == 0


def test_broker_unreachable_is_503_so_auth0_retries(settings: Settings) -> None:
    with ingest(settings, AUTHSTREAM_AMQP_URL=f"amqp://guest:pw@127.0.0.1:{free_port()}/") as url:
        assert post(url, orjson.dumps(RECORDS[0])).status_code == 503
        assert httpx.get(f"{url}/healthz").status_code == 503


def test_auth0_retries_are_indexed_once(settings: Settings) -> None:
    assert main(["setup"]) == 0
    batch = b"\n".join(orjson.dumps(r) for r in RECORDS[:3])
    with ingest(settings) as url:
        for _ in range(3):  # Auth0 delivers at least once
            assert post(url, batch).status_code == 200
    with running(settings):
        eventually(lambda: search.count_events(settings) == 3)
        index = Names(settings.name_prefix).work_queue("index")
        eventually(lambda: broker.settled(settings, index))
    assert broker.drained(settings, index)
    assert search.count_events(settings) == 3
    profile = search.profile(settings, "auth0|5f1d")
    assert profile is not None
    assert profile["counters"] == {"logins": 1, "signups": 1, "failed_logins": 1}


def test_ingest_refuses_to_start_without_a_token(settings: Settings, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AUTHSTREAM_INGEST_TOKEN", raising=False)
    assert main(["ingest", "--port", str(free_port())]) == 2
    assert "AUTHSTREAM_INGEST_TOKEN is not set" in capsys.readouterr().err
