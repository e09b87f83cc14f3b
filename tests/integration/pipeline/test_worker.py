"""The worker loop when things go wrong: Elasticsearch down, the broker connection cut."""

import os
import random
import shutil
import subprocess
import urllib.parse

from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests import broker, search
from tests.helpers import envelope, eventually, prerequisite_missing, publish_events
from tests.metrics import sample
from tests.proxy import proxy_to
from tests.workers import running


def tenant(users: range, logins: int) -> list[dict[str, object]]:
    """A signup and ``logins`` logins per user, shuffled so they arrive out of order."""
    events = []
    for n in users:
        profile = {"user_id": f"auth0|u{n}", "email": f"u{n}@example.com"}
        events.append(
            envelope(type="auth.signup", occurred_at="2026-03-01T08:00:00Z", user=profile)
        )
        events += [
            envelope(
                type="auth.login",
                occurred_at=f"2026-03-{day + 2:02d}T08:00:00Z",
                user=profile | {"logins_count": day + 2},
            )
            for day in range(logins)
        ]
    random.Random(7).shuffle(events)
    return events


def assert_counted_once(settings: Settings, users: range, logins: int) -> None:
    for n in users if len(users) <= 10 else (users.start, users.stop - 1):
        profile = search.profile(settings, f"auth0|u{n}")
        assert profile is not None
        assert profile["counters"] == {"signups": 1, "logins": logins}
        assert profile["first_seen"].startswith("2026-03-01")
        assert profile["last_login"].startswith(f"2026-03-{logins + 1:02d}")


def test_elasticsearch_outage_holds_the_batch_and_resumes_without_parking(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    es = urllib.parse.urlsplit(settings.elasticsearch_url)

    def down() -> float:
        return sample("authstream_dependency_down", stage="index")

    with proxy_to(es.hostname or "127.0.0.1", es.port or 9200) as proxy:
        through_proxy = settings.model_copy(
            update={"elasticsearch_url": f"http://127.0.0.1:{proxy.port}"}
        )
        proxy.down()
        publish_events(tenant(range(50), 3), tmp_path)
        with running(through_proxy):
            eventually(lambda: down() == 1, message="the worker noticing Elasticsearch is down")
            # Held, not parked, not acked: the messages wait in the queue for Elasticsearch.
            assert broker.message_count(settings, names.parking_lot("index")) == 0
            assert search.count_events(settings, allow_missing=True) == 0
            proxy.up = True
            eventually(lambda: search.count_events(settings) == 200, timeout=60)
            eventually(lambda: down() == 0, message="the gauge clearing")
        assert broker.message_count(settings, names.parking_lot("index")) == 0
        assert broker.drained(settings, names.work_queue("index"))
    assert_counted_once(settings, range(50), 3)


def broker_reconnects() -> float:
    return sample("authstream_broker_reconnects_total", stage="index")


def test_a_cut_broker_connection_reconnects_and_counts_nothing_twice(
    settings: Settings, tmp_path
) -> None:
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    events = tenant(range(200), 9)

    before = broker_reconnects()
    small_batches = settings.model_copy(update={"batch_size": 50})
    publish_events(events[:1000], tmp_path)
    with running(small_batches):
        eventually(lambda: (search.count_events(settings) or 0) > 0, message="indexing under way")
        assert (
            eventually(
                lambda: broker.cut_connections(
                    settings, "authstream index worker", names.work_queue("index")
                ),
                message="the worker's connection to cut",
            )
            == 1
        )
        publish_events(events[1000:], tmp_path)
        eventually(lambda: broker_reconnects() > before, message="a reconnect")
        eventually(lambda: search.count_events(settings) == len(events), timeout=60)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
    assert broker.drained(settings, names.work_queue("index"))
    assert broker.message_count(settings, names.parking_lot("index")) == 0
    search.refresh_users(settings)
    assert_counted_once(settings, range(200), 9)


def test_two_workers_on_one_queue_count_every_event_once(settings: Settings, tmp_path) -> None:
    """Few users, many events, small batches: both workers keep writing the same profiles."""
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    small_batches = settings.model_copy(update={"batch_size": 20, "prefetch": 40})
    publish_events(tenant(range(4), 28), tmp_path)
    with running(small_batches), running(small_batches):
        eventually(lambda: search.count_events(settings) == 4 * 29, timeout=60)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
    assert broker.drained(settings, names.work_queue("index"))
    assert broker.message_count(settings, names.parking_lot("index")) == 0
    search.refresh_users(settings)
    assert_counted_once(settings, range(4), 28)


def _as_root(*argv: str) -> list[str]:
    # rabbitmqctl needs the broker's Erlang cookie, which only root can read (`make services`
    # starts the broker through sudo too, in deploy/local/common.sh: as_root).
    if os.geteuid() == 0 or shutil.which("sudo") is None:
        return list(argv)
    return ["sudo", "-n", *argv]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(_as_root("rabbitmqctl", *args), check=True, capture_output=True, timeout=120)


def _why_the_broker_cannot_be_restarted(settings: Settings) -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (`make services` installs rabbitmq-server)"
    status = subprocess.run(_as_root("rabbitmqctl", "status"), capture_output=True, timeout=60)
    if status.returncode != 0:
        return f"`rabbitmqctl status` failed: {status.stderr.decode(errors='replace')[:300]}"
    host = urllib.parse.urlsplit(settings.amqp_url.get_secret_value()).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        return f"the tests' broker is at {host}, not the local node rabbitmqctl controls"
    return None


def test_a_broker_restart_is_survived_and_nothing_is_counted_twice(
    settings: Settings, tmp_path
) -> None:
    """The real thing: RabbitMQ's application stopped and started under a consuming worker."""
    if (why := _why_the_broker_cannot_be_restarted(settings)) is not None:
        prerequisite_missing(f"restarting the real broker needs the local node: {why}")
    assert main(["setup"]) == 0
    names = Names(settings.name_prefix)
    events = tenant(range(300), 9)

    before = broker_reconnects()
    publish_events(events, tmp_path)
    # Small batches keep the stream going long enough to stop the broker in the middle of it.
    small_batches = settings.model_copy(update={"batch_size": 10, "prefetch": 20})
    with running(small_batches):
        eventually(lambda: (search.count_events(settings) or 0) > 0, message="indexing under way")
        try:
            _rabbitmqctl("stop_app")
            eventually(lambda: broker_reconnects() > before, message="the worker noticing")
            assert (search.count_events(settings) or 0) < len(events), "the stream ended first"
        finally:
            _rabbitmqctl("start_app")
            _rabbitmqctl("await_startup")
        eventually(lambda: search.count_events(settings) == len(events), timeout=90)
        eventually(lambda: broker.settled(settings, names.work_queue("index")))
    assert broker.drained(settings, names.work_queue("index"))
    assert broker.message_count(settings, names.parking_lot("index")) == 0
    search.refresh_users(settings)
    assert_counted_once(settings, range(300), 9)
