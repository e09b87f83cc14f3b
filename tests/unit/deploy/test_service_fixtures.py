"""The Docker fallback of the test fixtures can work: no test reaches RabbitMQ's HTTP ports at a
fixed address (a container publishes them wherever Docker puts them)."""

import re

import pytest

from tests.conftest import urls_from_environment
from tests.helpers import REPO_ROOT

FIXED_ADDRESS = re.compile(r"(127\.0\.0\.1|localhost):1(5672|5692)\b")


def test_no_test_module_hard_codes_the_brokers_http_address() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "tests").rglob("*.py")
        if FIXED_ADDRESS.search(path.read_text())
    ]
    assert offenders == []


def test_the_brokers_http_urls_follow_the_amqp_host_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHSTREAM_AMQP_URL", "amqp://guest:guest@broker.test:32771/")
    monkeypatch.delenv("AUTHSTREAM_RABBITMQ_MANAGEMENT_URL", raising=False)
    monkeypatch.delenv("AUTHSTREAM_TEST_RABBITMQ_PROMETHEUS_URL", raising=False)
    urls = urls_from_environment()
    assert urls.management_url == "http://broker.test:15672"
    assert urls.rabbitmq_prometheus_url == "http://broker.test:15692"
    monkeypatch.setenv("AUTHSTREAM_RABBITMQ_MANAGEMENT_URL", "http://broker.test:32772")
    assert urls_from_environment().management_url == "http://broker.test:32772"


def test_the_container_helpers_the_fallback_uses_import_without_deprecation() -> None:
    # Warnings are errors in this suite: testcontainers' RabbitMqContainer and wait_for_logs warn
    # (deprecated waits) and would break the fallback at the moment it is needed.
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy

    assert DockerContainer.waiting_for  # the structured API (a container needs a Docker engine)
    assert LogMessageWaitStrategy("Server startup complete").with_startup_timeout(120)
    assert HttpWaitStrategy(9200, "/_cluster/health").with_startup_timeout(180)
