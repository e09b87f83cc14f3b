"""`authstream ingest` in front of the internet: tokens, bad headers and bodies, slow clients,
too many requests at once — each a clear 4xx/503, never a 500 or a hung server."""

import gzip
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.settings import Settings
from tests.integration.ingest.test_server import TOKEN, ingest, log

PATH = "/auth0/logs"


@pytest.mark.parametrize(
    ("token", "why"),
    [("", "is not set"), ("   ", "is not set"), ("short-token", "is shorter than 16 characters")],
)
def test_ingest_refuses_to_start_without_a_real_token(
    token: str, why: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSTREAM_INGEST_TOKEN", token)  # what compose passes for an unset one
    assert main(["ingest", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"AUTHSTREAM_INGEST_TOKEN {why}" in err and "Traceback" not in err


def raw(url: str, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (httpx will not send undecodable headers) and read the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        return answer


def test_tokens_that_strip_to_nothing_or_cannot_be_decoded_are_401(settings: Settings) -> None:
    with ingest(settings) as url:
        for header in (
            b"Authorization: Bearer    \t \r\n",  # strips to nothing
            b"Authorization: Bearer \xff\xfe\xe9\r\n",  # not UTF-8
            b"Authorization: \xc3\x28\r\n",
        ):
            answer = raw(
                url,
                b"POST /auth0/logs HTTP/1.1\r\nHost: x\r\n"
                + header
                + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
            )
            assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_bodies_in_an_encoding_that_cannot_be_read_are_400(settings: Settings) -> None:
    assert main(["setup"]) == 0
    auth = {"Authorization": TOKEN}
    with ingest(settings) as url:
        unknown = httpx.post(
            url + PATH, content=b"abc", headers=auth | {"Content-Encoding": "zstd"}
        )
        assert unknown.status_code == 400
        corrupt = httpx.post(
            url + PATH, content=b"not gzip at all", headers=auth | {"Content-Encoding": "gzip"}
        )
        assert corrupt.status_code == 400 and "unreadable body" in corrupt.json()["error"]
        body = orjson.dumps([log("90020261130000000000000000000000000000000000000000000001", "s")])
        zipped = httpx.post(
            url + PATH, content=gzip.compress(body), headers=auth | {"Content-Encoding": "gzip"}
        )
        assert zipped.status_code == 200 and zipped.json()["published"] == 1
        # Found by fuzzing: a small body that expands past the limit got aiohttp's plain text.
        bomb = httpx.post(
            url + PATH,
            content=gzip.compress(b" " * 200_000),
            headers=auth | {"Content-Encoding": "gzip"},
        )
        assert bomb.status_code == 413 and "AUTHSTREAM_INGEST_MAX_BYTES" in bomb.json()["error"]


def test_slow_clients_cannot_hold_the_server(settings: Settings) -> None:
    assert main(["setup"]) == 0
    with ingest(
        settings, AUTHSTREAM_INGEST_HEADER_TIMEOUT_S="1", AUTHSTREAM_INGEST_BODY_TIMEOUT_S="1"
    ) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(b"POST /auth0/logs HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 5
        answer = raw(
            url,
            b"POST /auth0/logs HTTP/1.1\r\nHost: x\r\nAuthorization: "
            + TOKEN.encode()
            + b"\r\nContent-Length: 100\r\n\r\n[{",  # 98 bytes short
        )
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert httpx.get(url + "/healthz").status_code == 200  # still serving everyone else


def test_requests_beyond_the_concurrency_cap_are_turned_away_at_once(settings: Settings) -> None:
    with ingest(settings, AUTHSTREAM_INGEST_MAX_CONCURRENT="1") as url:
        parts = urlsplit(url)
        holder = socket.create_connection((parts.hostname, parts.port), timeout=10)
        try:  # one request in progress: its body is still coming
            holder.sendall(
                b"POST /auth0/logs HTTP/1.1\r\nHost: x\r\nAuthorization: "
                + TOKEN.encode()
                + b"\r\nContent-Length: 10\r\n\r\n["
            )
            answers: list[int] = []

            def second() -> None:
                answers.append(
                    httpx.post(
                        url + PATH, content=b"[]", headers={"Authorization": TOKEN}
                    ).status_code
                )

            deadline = time.monotonic() + 10
            while 503 not in answers and time.monotonic() < deadline:
                thread = threading.Thread(target=second)
                thread.start()
                thread.join()
            assert 503 in answers
        finally:
            holder.close()


def test_the_list_of_skipped_records_is_capped_and_counted(settings: Settings) -> None:
    records = [{"log_id": f"bad-{n}", "data": {"type": "s"}} for n in range(150)]  # no dates
    with ingest(settings) as url:
        answer = httpx.post(
            url + PATH, content=orjson.dumps(records), headers={"Authorization": TOKEN}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert body["skipped_count"] == 150 and len(body["skipped"]) == 100
