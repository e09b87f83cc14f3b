"""`authstream run` as a real process: metrics on /metrics, SIGTERM in the middle of the stream."""

import os
import signal
import socket
import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest

from consumers.bench.indexer import done_messages, free_port
from consumers.broker.leftovers import management_api
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG, enabled_stages
from tests import broker, search
from tests.helpers import envelope, eventually, publish_events
from tests.integration.pipeline.test_worker import assert_counted_once, tenant
from tests.workers import running


def done_count(port: int) -> int:
    try:
        return done_messages(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
    except httpx.HTTPError:
        return 0


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_finishes_the_batch_in_flight_and_loses_nothing(
    settings: Settings, tmp_path, stop_with: signal.Signals
) -> None:
    """SIGTERM (what Kubernetes and compose send) and SIGINT (Ctrl-C) alike."""
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
        worker.send_signal(stop_with)
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


def test_run_all_consumes_every_enabled_stage_and_ctrl_c_stops_them_all(
    settings: Settings, tmp_path
) -> None:
    """`run --stage all` (the default): one consumer per enabled stage in one process (here the
    index and segments stages; the others lack their settings and have no queue)."""
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    enabled = [s.name for s in enabled_stages(settings)]
    assert enabled == ["index", "segments"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--stage", "all"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for stage in enabled:
            queue = names.work_queue(stage)
            eventually(lambda q=queue: broker.depth(settings, q).consumers == 1, message=queue)
        for stage in set(CATALOG) - set(enabled):
            assert not broker.queue_exists(settings, names.work_queue(stage))
        # Work flows through both: a signup is indexed, and its profile.changed is evaluated.
        runner = {"user_id": "auth0|all1", "gender": "male", "birthday": "01/02/1996"}
        publish_events([envelope(type="auth.signup", user=runner)], tmp_path)
        eventually(lambda: search.profile(settings, "auth0|all1"), message="indexed")
        segments = names.work_queue("segments")
        eventually(lambda: acked_some(settings, segments), message="segments stage at work")
        worker.send_signal(signal.SIGINT)
        _, stderr = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr
    assert stderr.count('"worker stopped"') == len(enabled)
    for stage in enabled:
        assert broker.drained(settings, names.work_queue(stage))
        assert broker.message_count(settings, names.parking_lot(stage)) == 0


def acked_some(settings: Settings, queue: str) -> bool:
    """The queue has seen a delivery acknowledged (its consumer did work): the management API's
    counter of acks, which only grows."""
    base, credentials, vhost = management_api(settings)
    path = f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}"
    figures = httpx.get(base + path, auth=credentials, timeout=10).raise_for_status().json()
    return bool((figures.get("message_stats") or {}).get("ack"))
