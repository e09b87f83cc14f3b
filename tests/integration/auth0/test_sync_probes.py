"""A running `authstream sync auth0` serves /metrics, /healthz and /readyz like every worker: a
backfill of a large tenant runs for hours, as a Kubernetes Job or a cron, and is watched."""

import os
import subprocess
import sys

import httpx

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from tests.helpers import eventually
from tests.integration.auth0.conftest import Configure, users_published
from tests.standins.auth0_mgmt import Auth0StandIn


def test_a_running_sync_answers_its_probes_and_then_lets_the_port_go(
    auth0: Auth0StandIn, configure: Configure
) -> None:
    auth0.polls_until_complete = 1_000_000  # the export job "runs" until the test lets it end
    port = free_port()
    settings = configure(auth0)
    assert main(["setup"]) == 0
    auth0.seed_users(30)
    sync = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "sync", "auth0", "--method", "export"],
        env=os.environ | {"AUTHSTREAM_METRICS_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                assert sync.poll() is None, sync.communicate()
                return False

        eventually(ready, timeout=60, message="sync ready")
        assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        scraped = httpx.get(f"{base}/metrics", timeout=2).text
        assert "authstream_build_info" in scraped
        assert 'authstream_third_party_calls_total{outcome="ok",provider="auth0"}' in scraped
        assert httpx.get(f"{base}/anything", timeout=2).status_code == 404
        auth0.polls_until_complete = 0  # the job completes on its next poll
        out, err = sync.communicate(timeout=60)
    finally:
        if sync.poll() is None:
            sync.kill()
            sync.communicate()
    assert sync.returncode == 0, err
    assert "30 published" in out, out
    assert set(users_published(settings)) == set(auth0.users)
    try:
        httpx.get(f"{base}/healthz", timeout=2)
        raise AssertionError("the probes outlived the sync")
    except httpx.TransportError:
        pass  # the port was given back
