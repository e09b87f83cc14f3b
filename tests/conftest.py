"""Fixtures for tests that need the real RabbitMQ and Elasticsearch.

They connect to AUTHSTREAM_AMQP_URL / AUTHSTREAM_ELASTICSEARCH_URL (default: the local services
that `make services` starts). When nothing answers there and a Docker engine is available, they
start containers with testcontainers; otherwise the tests fail with a message saying to run
`make services`. Each test gets its own name prefix, so tests never see each other's data.
Tests reach RabbitMQ's management API (and its Prometheus endpoint) through ``services`` too, never
through a fixed address: containers publish those ports wherever Docker puts them.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import structlog

from consumers.cli.setup import remove_everything
from consumers.core.settings import Settings
from tests import fuzz

# Before the hypothesis plugin reads --hypothesis-profile (`make test-fuzz` passes "fuzz").
fuzz.register_profiles()

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_ES_URL = "http://127.0.0.1:9200"
MANAGEMENT_PORT, PROMETHEUS_PORT = 15672, 15692


@dataclass(frozen=True)
class ServiceUrls:
    amqp_url: str
    elasticsearch_url: str
    management_url: str  # RabbitMQ's HTTP API
    rabbitmq_prometheus_url: str  # RabbitMQ's own Prometheus endpoint (rabbitmq_prometheus)


def urls_from_environment() -> ServiceUrls:
    """The services named by the environment; the broker's HTTP ports default to its host."""
    amqp = os.environ.get("AUTHSTREAM_AMQP_URL", DEFAULT_AMQP_URL)
    host = urlsplit(amqp).hostname or "127.0.0.1"
    return ServiceUrls(
        amqp,
        os.environ.get("AUTHSTREAM_ELASTICSEARCH_URL", DEFAULT_ES_URL),
        os.environ.get("AUTHSTREAM_RABBITMQ_MANAGEMENT_URL", f"http://{host}:{MANAGEMENT_PORT}"),
        os.environ.get(
            "AUTHSTREAM_TEST_RABBITMQ_PROMETHEUS_URL", f"http://{host}:{PROMETHEUS_PORT}"
        ),
    )


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


def _start_containers() -> tuple[ServiceUrls, list[object]]:
    """RabbitMQ (management and Prometheus plugins on) and Elasticsearch in Docker. Only the
    structured wait strategies: the older helpers warn, and warnings are errors here."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy

    rabbit = (
        DockerContainer("rabbitmq:3.13.7-management")
        .with_exposed_ports(5672, MANAGEMENT_PORT, PROMETHEUS_PORT)
        .waiting_for(LogMessageWaitStrategy("Server startup complete").with_startup_timeout(120))
        .start()
    )
    es = (
        DockerContainer("docker.elastic.co/elasticsearch/elasticsearch:8.19.4")
        .with_env("discovery.type", "single-node")
        .with_env("xpack.security.enabled", "false")
        .with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m")
        .with_exposed_ports(9200)
        .waiting_for(HttpWaitStrategy(9200, "/_cluster/health").with_startup_timeout(180))
        .start()
    )
    host = rabbit.get_container_host_ip()
    urls = ServiceUrls(
        amqp_url=f"amqp://guest:guest@{host}:{rabbit.get_exposed_port(5672)}/",
        elasticsearch_url=f"http://{es.get_container_host_ip()}:{es.get_exposed_port(9200)}",
        management_url=f"http://{host}:{rabbit.get_exposed_port(MANAGEMENT_PORT)}",
        rabbitmq_prometheus_url=f"http://{host}:{rabbit.get_exposed_port(PROMETHEUS_PORT)}",
    )
    return urls, [rabbit, es]


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceUrls]:
    urls = urls_from_environment()
    if _answers(urls.amqp_url, 5672) and _answers(urls.elasticsearch_url, 9200):
        yield urls
        return
    if _docker_available():
        urls, containers = _start_containers()
        yield urls
        for container in containers:
            container.stop()  # type: ignore[attr-defined]
        return
    pytest.fail(
        f"RabbitMQ ({urls.amqp_url}) or Elasticsearch ({urls.elasticsearch_url}) does not answer "
        "and no Docker engine is available: run `make services` first.",
        pytrace=False,
    )


@pytest.fixture
def settings(services: ServiceUrls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings with a unique name prefix; the same values are in the environment for the CLI."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    env = {
        "AUTHSTREAM_AMQP_URL": services.amqp_url,
        "AUTHSTREAM_ELASTICSEARCH_URL": services.elasticsearch_url,
        "AUTHSTREAM_RABBITMQ_MANAGEMENT_URL": services.management_url,
        "AUTHSTREAM_NAME_PREFIX": prefix,
        # Off unless a test asks for it: processes started by tests must not fight over 9464.
        "AUTHSTREAM_METRICS_PORT": "0",
        "AUTHSTREAM_RETRY_DELAYS_MS": "[200, 1000]",
        "AUTHSTREAM_LOG_FORMAT": "json",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    ISSUED.append(settings)
    yield settings
    asyncio.run(remove_everything(settings))


ISSUED: list[Settings] = []  # every namespace handed out this session, checked at its end


def _leftovers(settings: Settings) -> list[str]:
    """Queues, exchanges and indices still under a test's prefix (its fixture should have
    removed them all, also when the test failed); removed here, and named."""
    import httpx
    from elasticsearch import Elasticsearch

    from consumers.broker.leftovers import management_api
    from consumers.store.elastic import client_options

    prefix, found = settings.name_prefix, []
    base, auth, _ = management_api(settings)
    with httpx.Client(base_url=base, auth=auth, timeout=30) as api:
        for kind in ("queues", "exchanges"):
            for entity in api.get(f"/api/{kind}/%2F", params={"columns": "name"}).json():
                if str(entity["name"]).startswith(prefix):
                    found.append(f"{kind[:-1]} {entity['name']}")
                    api.delete(f"/api/{kind}/%2F/{entity['name']}")
    with Elasticsearch(**client_options(settings)) as es:
        for index in es.options(ignore_status=404).indices.get(index=f"{prefix}*") or {}:
            found.append(f"index {index}")
            es.options(ignore_status=404).indices.delete(index=index)
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A long test day must not wear the shared broker out (it once wedged under 323 queues left
    by interrupted runs): whatever a test's namespace left behind fails the session, by name.
    And a fuzz run that checked too few inputs fails too."""
    _too_few_fuzz_inputs(session, exitstatus)
    if not ISSUED:
        return
    left = []
    try:
        for settings in ISSUED:
            left += _leftovers(settings)
    except Exception as exc:  # the services are gone: nothing to check against
        print(f"\n(leftover check skipped: {exc!r})")
        return
    if left:
        print(f"\n{len(left)} thing(s) left behind by test namespaces (now removed): {left[:20]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _logs_follow_the_current_stderr() -> Iterator[None]:
    """``main()`` binds logging to the stderr of its test, which capsys closes afterwards; a later
    test that logs without calling ``main()`` would write to the closed stream."""
    yield
    structlog.reset_defaults()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the real services: mark it so (-m integration);
    the fault suite under tests/faults too, and it is marked ``faults`` (-m faults)."""
    integration = Path(__file__).parent / "integration"
    faults = Path(__file__).parent / "faults"
    for item in items:
        if integration in item.path.parents:
            item.add_marker(pytest.mark.integration)
        elif faults in item.path.parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.faults)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fuzz: a hypothesis property that `make test-fuzz` runs with many more inputs"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not fuzz.GENERATED:
        return
    total = sum(fuzz.GENERATED.values())
    terminalreporter.write_sep("-", f"fuzz: {total:,} generated inputs checked")
    for name, count in sorted(fuzz.GENERATED.items()):
        terminalreporter.write_line(f"{count:>9,}  {name}")


def _too_few_fuzz_inputs(session: pytest.Session, exitstatus: int) -> None:
    """`make test-fuzz` sets AUTHSTREAM_FUZZ_MIN_INPUTS: fewer checked inputs fail the run."""
    wanted = int(os.environ.get("AUTHSTREAM_FUZZ_MIN_INPUTS") or 0)
    total = sum(fuzz.GENERATED.values())
    if wanted and total < wanted and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nfuzz: only {total:,} generated inputs checked, {wanted:,} wanted")
