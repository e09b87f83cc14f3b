"""`authstream run` and `authstream ingest` as real processes: /metrics, /healthz, /readyz, 404."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.settings import Settings
from tests import search
from tests.helpers import envelope, eventually, publish_events
from tests.integration.ingest.test_server import TOKEN
from tests.integration.stages.test_index import user


@contextmanager
def process(*args: str, **env: str) -> Iterator[str]:
    """An authstream command with its metrics port; yields the port's base URL."""
    port = free_port()
    environment = os.environ | {
        "AUTHSTREAM_METRICS_HOST": "127.0.0.1",
        "AUTHSTREAM_METRICS_PORT": str(port),
        **env,
    }
    running = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", *args],
        env=environment,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert running.poll() is None, f"authstream {' '.join(args)} exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(serving, timeout=30, message="the metrics port")
        yield url
    finally:
        running.terminate()
        running.wait(timeout=30)


def scrape(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=5).text


def ready(url: str) -> bool:
    return httpx.get(f"{url}/readyz", timeout=5).status_code == 200


def test_a_worker_serves_probes_and_every_series_from_the_first_scrape(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    with process("run", "--stage", "index") as url:
        first = scrape(url)
        # Before any message: the series alerts and dashboards need are there, at zero.
        for series in (
            'authstream_messages_total{outcome="park",stage="index"} 0.0',
            'authstream_dependency_down{stage="index"} 0.0',
            'authstream_bulk_item_failures_total{reason="rejected",stage="index"} 0.0',
            'authstream_event_lag_seconds_count{stage="index"} 0.0',
            "authstream_build_info{",
        ):
            assert series in first, series
        eventually(lambda: ready(url), message="ready once consuming and Elasticsearch answers")
        assert httpx.get(f"{url}/readyz").json()["checked"] == [
            "elasticsearch",
            f"rabbitmq {settings.name_prefix}authstream.index",
        ]
        assert httpx.get(f"{url}/anything").status_code == 404

        now = datetime.now(UTC).isoformat()
        publish_events([envelope(user=user(n), occurred_at=now) for n in range(3)], tmp_path)
        eventually(lambda: search.count_events(settings) == 3, message="the events indexed")

        def lag_observed() -> str | None:
            text = scrape(url)
            return text if 'authstream_event_lag_seconds_count{stage="index"} 3.0' in text else None

        text = eventually(lag_observed, message="the lag of the three events")
        # Indexed within a minute of happening: all three in the 60 s bucket.
        assert 'authstream_event_lag_seconds_bucket{le="60.0",stage="index"} 3.0' in text
        assert 'authstream_bulk_duration_seconds_count{stage="index"} ' in text
        assert 'authstream_bulk_duration_seconds_count{stage="index"} 0.0' not in text


def test_readyz_names_what_is_down_while_healthz_stays_alive(settings: Settings) -> None:
    assert main(["setup"]) == 0
    nothing_there = f"http://127.0.0.1:{free_port()}"
    with process("run", "--stage", "index", AUTHSTREAM_ELASTICSEARCH_URL=nothing_there) as url:

        def problems() -> dict[str, str] | None:
            answer = httpx.get(f"{url}/readyz", timeout=5)
            return answer.json().get("problems") if answer.status_code == 503 else None

        seen = eventually(lambda: "elasticsearch" in (problems() or {}) and problems())
        assert seen["elasticsearch"].startswith("Elasticsearch does not answer")
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_ingest_serves_its_own_metrics_and_probes(settings: Settings) -> None:
    assert main(["setup"]) == 0
    webhook = free_port()
    with process("ingest", "--port", str(webhook), AUTHSTREAM_INGEST_TOKEN=TOKEN) as url:
        eventually(lambda: ready(url), message="ingest ready once the broker takes events")
        assert 'authstream_ingest_requests_total{code="503"} 0.0' in scrape(url)
        answer = httpx.post(
            f"http://127.0.0.1:{webhook}/auth0/logs", content=b"[]", headers={"Authorization": "x"}
        )
        assert answer.status_code == 401
        assert 'authstream_ingest_requests_total{code="401"} 1.0' in scrape(url)
        assert httpx.get(f"{url}/auth0/logs").status_code == 404
