"""Elasticsearch with security on: the API key or the user and password reach the node as it
expects them, a CA file makes a private certificate trusted, and a refusal stops `authstream run`
with exit 2 and a message that says what to check, never the secret.

The local test node runs with security off, so a secured node is played by a stand-in
(tests/standins/elasticsearch.py) over real HTTP(S); the broker is the real one."""

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker
from tests.helpers import envelope, eventually, publish_events
from tests.standins.elasticsearch import SecuredElasticsearch

API_KEY = base64.b64encode(b"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw").decode()


def authstream(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", *argv],
        env=os.environ | {"AUTHSTREAM_METRICS_PORT": "0"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_api_key_is_presented_as_an_apikey_header_before_any_password(
    settings: Settings,
) -> None:
    with SecuredElasticsearch(api_key=API_KEY, username="elastic", password="changeme") as node:
        finished = authstream(
            "check",
            AUTHSTREAM_ELASTICSEARCH_URL=node.base_url,
            AUTHSTREAM_ELASTICSEARCH_API_KEY=API_KEY,
            AUTHSTREAM_ELASTICSEARCH_USERNAME="elastic",
            AUTHSTREAM_ELASTICSEARCH_PASSWORD="changeme",
        )
        assert finished.returncode == 0, finished.stderr
        presented = {r.headers.get("authorization") for r in node.requests}
    assert presented == {f"ApiKey {API_KEY}"}


def test_a_user_and_password_are_presented_as_basic_auth(settings: Settings) -> None:
    with SecuredElasticsearch(username="authstream", password="s3cret-Pa55") as node:
        finished = authstream(
            "check",
            AUTHSTREAM_ELASTICSEARCH_URL=node.base_url,
            AUTHSTREAM_ELASTICSEARCH_USERNAME="authstream",
            AUTHSTREAM_ELASTICSEARCH_PASSWORD="s3cret-Pa55",
        )
        assert finished.returncode == 0, finished.stderr
        presented = {r.headers.get("authorization") for r in node.requests}
    assert presented == {"Basic " + base64.b64encode(b"authstream:s3cret-Pa55").decode()}


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1: (CA, certificate, key)."""
    folder = tmp_path_factory.mktemp("es-tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=authstream test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
            "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "node.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    return folder / "ca.pem", folder / "node.pem", folder / "node.key"


def test_a_ca_file_makes_a_private_certificate_trusted_and_without_it_the_error_says_so(
    settings: Settings, private_ca: tuple[Path, Path, Path]
) -> None:
    ca, certificate, key = private_ca
    with SecuredElasticsearch(api_key=API_KEY, tls=(certificate, key)) as node:
        secured = {"AUTHSTREAM_ELASTICSEARCH_URL": node.base_url}
        secured["AUTHSTREAM_ELASTICSEARCH_API_KEY"] = API_KEY
        trusted = authstream("check", AUTHSTREAM_ELASTICSEARCH_CA_CERTS=str(ca), **secured)
        assert trusted.returncode == 0, trusted.stderr
        assert node.base_url.startswith("https://") and len(node.requests) == 1
        untrusted = authstream("check", **secured)
    assert untrusted.returncode == 2
    assert "TLS certificate is not trusted; set AUTHSTREAM_ELASTICSEARCH_CA_CERTS" in (
        untrusted.stderr
    )
    assert "Traceback" not in untrusted.stderr and API_KEY not in untrusted.stderr


def test_https_to_a_node_that_serves_plain_http_says_to_write_http(settings: Settings) -> None:
    plain = settings.elasticsearch_url.split(",")[0]
    assert plain.startswith("http://")
    wrong = authstream(
        "check", AUTHSTREAM_ELASTICSEARCH_URL="https://" + plain.removeprefix("http://")
    )
    assert wrong.returncode == 2
    assert "does not speak TLS there" in wrong.stderr and "write http://" in wrong.stderr
    assert "Traceback" not in wrong.stderr


@pytest.fixture
def secured_node(settings: Settings) -> Iterator[SecuredElasticsearch]:
    """The topology set up on the real services; a secured node for `run` to meet."""
    assert main(["setup"]) == 0
    with SecuredElasticsearch(api_key=API_KEY) as node:
        yield node


@pytest.mark.parametrize(("stage", "waiting"), [("index", True), ("index", False), ("all", False)])
def test_rejected_credentials_stop_run_with_exit_2_and_say_what_to_check(
    secured_node: SecuredElasticsearch, stage: str, waiting: bool, tmp_path: Path
) -> None:
    """With work waiting, its first read meets the refusal; without, the start does (an idle
    stage would otherwise wait for ever, unready)."""
    if waiting:
        publish_events([envelope(type="auth.login")], tmp_path)
    rotated = base64.b64encode(b"VuaCfGcBCdbkQm-e5aOx:an-old-key-revoked").decode()
    finished = authstream(
        "run",
        "--stage",
        stage,
        AUTHSTREAM_ELASTICSEARCH_URL=secured_node.base_url,
        AUTHSTREAM_ELASTICSEARCH_API_KEY=rotated,
    )
    assert finished.returncode == 2, finished.stderr
    assert (
        f"Elasticsearch at {secured_node.base_url} rejected the credentials (401): "
        "check AUTHSTREAM_ELASTICSEARCH_API_KEY"
    ) in finished.stderr
    assert rotated not in finished.stderr + finished.stdout
    assert "Traceback" not in finished.stderr


def test_a_key_without_the_monitor_privilege_does_not_stop_run(
    secured_node: SecuredElasticsearch, settings: Settings
) -> None:
    """403 on the health check only says the key may not monitor the cluster: the stage starts,
    and would meet a real refusal at its first write."""
    secured_node.forbid()
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--stage", "index"],
        env=os.environ
        | {
            "AUTHSTREAM_METRICS_PORT": "0",
            "AUTHSTREAM_ELASTICSEARCH_URL": secured_node.base_url,
            "AUTHSTREAM_ELASTICSEARCH_API_KEY": API_KEY,
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        secured_node.wait_for_requests(1, "/_cluster/health", timeout=30)
        queue = Names(settings.name_prefix).work_queue("index")
        eventually(lambda: broker.depth(settings, queue).consumers == 1, message="consuming")
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert '"consuming"' in stderr
