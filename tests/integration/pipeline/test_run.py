"""`authstream run` as a real process: metrics on /metrics, SIGTERM in the middle of the stream."""

import os
import signal
import socket
import subprocess
import sys

import httpx

from consumers.bench.indexer import done_messages, free_port
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import eventually, publish_events
from tests.integration.pipeline.test_worker import assert_counted_once, tenant
from tests.workers import running


def done_count(port: int) -> int:
    try:
        return done_messages(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
    except httpx.HTTPError:
        return 0


def test_sigterm_finishes_the_batch_in_flight_and_loses_nothing(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    events = tenant(range(600), 9)
    publish_events(events, tmp_path)
    port = free_port()
    env = os.environ | {
        "AUTHSTREAM_METRICS_HOST": "127.0.0.1",
        "AUTHSTREAM_METRICS_PORT": str(port),
        "AUTHSTREAM_BATCH_SIZE": "100",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--stage", "index"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        eventually(lambda: done_count(port) > 0, timeout=30, message="metrics showing progress")
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr
    assert "worker stopped" in stderr

    indexed = search.count_events(settings) or 0
    waiting = broker.message_count(settings, names.work_queue("index"))
    assert waiting > 0, "SIGTERM came after the whole stream: nothing mid-stream was tested"
    # Every message is either indexed and acked, or back in the queue: none both, none neither.
    assert indexed + waiting == len(events)

    with running(settings):
        eventually(lambda: search.count_events(settings) == len(events), timeout=60)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
    assert broker.drained(settings, names.work_queue("index"))
    search.refresh_users(settings)
    assert_counted_once(settings, range(600), 9)


def test_a_taken_metrics_port_is_a_clear_error(settings: Settings, capsys, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("AUTHSTREAM_METRICS_HOST", "127.0.0.1")
        monkeypatch.setenv("AUTHSTREAM_METRICS_PORT", str(taken.getsockname()[1]))
        assert main(["run", "--stage", "index"]) == 2
    assert "cannot serve metrics on 127.0.0.1" in capsys.readouterr().err


def test_credentials_the_broker_rejects_stop_the_worker_with_a_clear_masked_error(
    settings: Settings,
) -> None:
    wrong = settings.amqp_url.get_secret_value().replace("guest:guest@", "guest:Wr0ng-pa55@")
    env = os.environ | {
        "AUTHSTREAM_AMQP_URL": wrong,
        "AUTHSTREAM_NAME_PREFIX": settings.name_prefix,
        "AUTHSTREAM_METRICS_PORT": "0",
    }
    finished = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "run", "--stage", "index"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "rejected the credentials (check AUTHSTREAM_AMQP_URL)" in finished.stderr
    assert "Wr0ng-pa55" not in finished.stderr + finished.stdout
