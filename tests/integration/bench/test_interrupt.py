"""A benchmark stopped midway leaves nothing behind: its throwaway namespaces are removed (a
200,000-event run stopped midway once left 600,000 messages in its queues)."""

import os
import signal
import subprocess
import sys

import pytest
from elasticsearch import Elasticsearch

from consumers.core.settings import Settings
from consumers.store.elastic import client_options
from tests import broker
from tests.helpers import eventually


def _queues(settings: Settings) -> dict[str, int]:
    with broker.management(settings) as api:
        found = api.get("/api/queues/%2F", params={"columns": "name,messages"}).json()
    return {
        q["name"]: q.get("messages") or 0
        for q in found
        if q["name"].startswith(settings.name_prefix)
    }


def _indices(settings: Settings) -> list[str]:
    with Elasticsearch(**client_options(settings)) as es:
        return list(
            es.options(ignore_status=404).indices.get(index=f"{settings.name_prefix}*") or {}
        )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_benchmark_stopped_in_the_middle_removes_its_namespaces(
    settings: Settings, signum: int
) -> None:
    bench = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "consumers.cli",
            "bench",
            "--events",
            "20000",
            "--rate",
            "100",
            "--latency-seconds",
            "2",
            "--naive-events",
            "10",
        ],
        env=os.environ | {"AUTHSTREAM_LOG_LEVEL": "warning"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Stopped while its pipeline phase holds messages in a queue.
        eventually(
            lambda: any("-pipe-" in name and n > 0 for name, n in _queues(settings).items()),
            timeout=120,
            interval=0.5,
            message="the pipeline phase under way",
        )
        bench.send_signal(signum)
        _, stderr = bench.communicate(timeout=90)
    finally:
        bench.kill()
    assert bench.returncode == 130, stderr
    assert "namespaces were removed" in stderr
    assert _queues(settings) == {}
    assert _indices(settings) == []
