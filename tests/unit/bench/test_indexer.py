"""The benchmarks measure what they say (correctness of the harness, not timing)."""

import asyncio

import pytest

from consumers.bench import indexer
from consumers.bench.indexer import done_messages, percentile
from consumers.bench.workfile import workload
from consumers.core.errors import BrokerUnavailable
from consumers.core.settings import Settings


def test_the_workload_is_one_signup_in_five_then_logins_of_known_users() -> None:
    events = workload(1_000)
    signups = [e for e in events if e["type"] == "auth.signup"]
    assert len(signups) == 200
    seen: set[str] = set()
    for event in events:
        user_id = event["user"]["user_id"]
        if event["type"] == "auth.signup":
            seen.add(user_id)
        else:
            assert user_id in seen, "a login of a user who never signed up"
    assert len({e["event_id"] for e in events}) == 1_000
    assert {e["event_id"] for e in workload(10)}.isdisjoint(e["event_id"] for e in workload(10))


def test_percentiles_and_metrics_parsing() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    page = 'authstream_messages_total{outcome="done",stage="index"} 1234.0\n'
    assert done_messages(page) == 1234
    assert done_messages("") == 0


def test_a_benchmark_removes_its_namespaces_once_the_broker_is_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that ends while the shared broker restarts tries the removal again (no services:
    setup and removal are replaced, the broker's absence is the error the removal raises)."""
    attempts: list[str] = []

    async def set_up(settings: Settings) -> None:
        pass

    async def remove(settings: Settings) -> None:
        attempts.append(settings.name_prefix)
        if len(attempts) < 3:
            raise BrokerUnavailable("RabbitMQ at amqp://127.0.0.1:5672/ is unreachable")

    monkeypatch.setattr(indexer, "run_setup", set_up)
    monkeypatch.setattr(indexer, "remove_everything", remove)
    monkeypatch.setattr(indexer, "REMOVAL_PAUSE_S", 0.0)

    async def run() -> None:
        async with indexer.throwaway_setups(Settings(name_prefix="t-"), "one"):
            pass

    asyncio.run(run())
    assert (
        len(attempts) == 3 and attempts[0].startswith("t-bench") and attempts[0].endswith("-one-")
    )
    monkeypatch.setattr(indexer, "REMOVAL_ATTEMPTS", 2)
    attempts.clear()
    with pytest.raises(BrokerUnavailable):  # gone for good: the error is not swallowed
        asyncio.run(run())
