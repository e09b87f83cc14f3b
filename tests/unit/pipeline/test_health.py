"""The probes' state and the HTTP server that answers them (no services needed)."""

import asyncio
import socket

import httpx
import pytest

from consumers.core.errors import BrokerUnavailable, ConfigurationError
from consumers.core.settings import Settings
from consumers.pipeline import health
from consumers.pipeline.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_liveness_follows_the_heartbeat() -> None:
    clock = Clock()
    probes = Health(stale_after_s=30, clock=clock)
    assert probes.liveness()[0]
    clock.now += 31
    alive, body = probes.liveness()
    assert not alive and body["status"] == "stalled" and body["heartbeat_age_s"] == 31
    probes.beat()
    assert probes.liveness()[0]


def test_not_ready_before_the_first_checks_then_ready_only_when_every_check_passes() -> None:
    probes = Health()
    assert probes.readiness() == (
        False,
        {"status": "not ready", "problems": {"checks": "not run yet"}},
    )
    answers: dict[str, str | None] = {"elasticsearch": None, "rabbitmq": "no broker session"}

    def check(name: str) -> health.Check:
        async def run() -> str | None:
            return answers[name]

        return run

    for name in answers:
        probes.add(name, check(name))
    asyncio.run(probes.check_now())
    assert probes.readiness() == (
        False,
        {"status": "not ready", "problems": {"rabbitmq": "no broker session"}},
    )
    answers["rabbitmq"] = None
    asyncio.run(probes.check_now())
    assert probes.readiness() == (True, {"status": "ok", "checked": ["elasticsearch", "rabbitmq"]})


def test_a_stalled_loop_is_not_ready_either() -> None:
    clock = Clock()
    probes = Health(stale_after_s=30, clock=clock)
    asyncio.run(probes.check_now())
    assert probes.readiness()[0]
    clock.now += 60
    assert probes.readiness() == (
        False,
        {"status": "not ready", "problems": {"event loop": "stalled"}},
    )


def test_checks_that_hang_or_fail_say_why_without_leaking_foreign_messages(monkeypatch) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.05)

    async def hangs() -> str | None:
        await asyncio.sleep(10)
        return None

    async def ours() -> str | None:
        raise BrokerUnavailable("RabbitMQ at amqp://u:***@mq/ is unreachable")

    async def foreign() -> str | None:
        raise RuntimeError("https://admin:hunter2@es.internal failed")

    probes = Health()
    for name, check in {"hangs": hangs, "ours": ours, "foreign": foreign}.items():
        probes.add(name, check)
    asyncio.run(probes.check_now())
    assert probes.problems == {
        "hangs": "no answer within 0 s",
        "ours": "RabbitMQ at amqp://u:***@mq/ is unreachable",
        "foreign": "failed (RuntimeError)",
    }


def test_watch_beats_and_checks_until_stopped() -> None:
    probes = Health()
    calls = 0
    checked: asyncio.Event | None = None

    async def check() -> str | None:
        nonlocal calls
        calls += 1
        assert checked is not None
        checked.set()
        return None

    probes.add("dependency", check)

    async def scenario() -> None:
        nonlocal checked
        checked, stop = asyncio.Event(), asyncio.Event()
        watching = asyncio.create_task(probes.watch(stop))
        await asyncio.wait_for(checked.wait(), 5)  # the first check, however busy the machine
        stop.set()
        await asyncio.wait_for(watching, 5)

    asyncio.run(scenario())
    # One check: the next is CHECK_EVERY_S away, and stop ends the wait for it.
    assert calls == 1 and probes.readiness()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_server_answers_metrics_probes_and_404_for_anything_else() -> None:
    settings = Settings(metrics_host="127.0.0.1", metrics_port=free_port())
    probes = Health()
    server = health.serve(settings, probes)
    assert server is not None
    try:
        url = f"http://127.0.0.1:{server.port}"
        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200
        assert 'authstream_build_info{python="' in metrics.text
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        not_ready = httpx.get(f"{url}/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["problems"] == {"checks": "not run yet"}
        asyncio.run(probes.check_now())
        assert httpx.get(f"{url}/readyz").status_code == 200
        for path in ("/", "/anything", "/metrics/extra", "/healthz/"):
            assert httpx.get(f"{url}{path}").status_code == 404, path
    finally:
        server.close()


def test_port_zero_serves_nothing_and_a_taken_port_is_a_configuration_error() -> None:
    assert health.serve(Settings(metrics_port=0), Health()) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(metrics_host="127.0.0.1", metrics_port=taken.getsockname()[1])
        with pytest.raises(ConfigurationError, match=r"cannot serve metrics on 127\.0\.0\.1"):
            health.serve(settings, Health())
