"""A real Prometheus (Debian's package, on a free port with a throwaway config and data folder)
scrapes a running worker and RabbitMQ's per-queue endpoint, loads the alert rules, and answers
PromQL through its HTTP API; every dashboard query parses there."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from consumers.bench.indexer import free_port
from consumers.cli.main import main
from consumers.core.names import Names
from consumers.core.settings import Settings
from tests.conftest import ServiceUrls
from tests.helpers import REPO_ROOT, envelope, eventually, prerequisite_missing, publish_events
from tests.integration.pipeline.test_probes import process
from tests.integration.stages.test_index import user
from tests.ops_tools import tool
from tests.unit.deploy.test_grafana import RABBITMQ_QUEUE_METRICS, dashboard_expressions

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$stage": ".*"}


@contextmanager
def prometheus(tmp_path: Path, scrape_configs: list[dict[str, Any]]) -> Iterator[str]:
    """A Prometheus scraping every second, with authstream's rules; yields its base URL."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(path) for path in RULE_FILES],
                "scrape_configs": scrape_configs,
            }
        )
    )
    log = tmp_path / "prometheus.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def is_ready() -> bool:
        assert server.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(is_ready, timeout=60, message="Prometheus ready")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def query(url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


def rule(name: str) -> dict[str, Any]:
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for candidate in group["rules"]:
                if candidate.get("alert") == name:
                    return dict(candidate)
    raise KeyError(name)


def test_prometheus_scrapes_a_worker_loads_the_rules_and_runs_every_dashboard_query(
    settings: Settings, tmp_path: Path
) -> None:
    assert main(["setup"]) == 0
    with process("run", "--stage", "index") as worker:
        target = urlsplit(worker).netloc
        job = {"job_name": "authstream", "static_configs": [{"targets": [target]}]}
        with prometheus(tmp_path, [job]) as url:
            # From the first scrape, before any message: every outcome of the stage, at zero.
            def outcomes() -> dict[str, str] | None:
                found = query(url, 'authstream_messages_total{job="authstream", stage="index"}')
                return {r["metric"]["outcome"]: r["value"][1] for r in found} or None

            assert eventually(outcomes, message="the worker's series") == {
                "done": "0",
                "retry": "0",
                "park": "0",
            }
            assert query(url, 'up{job="authstream"}')[0]["value"][1] == "1"
            # ...so absent() sees the stage at once: the missing-stage alert's condition is false.
            assert query(url, rule("AuthstreamIndexStageMissing")["expr"]) == []

            now = datetime.now(UTC).isoformat()
            events = [envelope(user=user(n), occurred_at=now) for n in range(5)]
            publish_events(events, tmp_path)
            throughput = 'sum by (stage) (rate(authstream_messages_total{outcome="done"}[1m]))'
            eventually(
                lambda: [r for r in query(url, throughput) if float(r["value"][1]) > 0],
                message="throughput seen by Prometheus",
            )

            def rules_evaluated() -> list[dict[str, Any]] | None:
                groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
                loaded = [r for g in groups for r in g["rules"]]
                healthy = loaded and all(r["health"] == "ok" for r in loaded)
                return loaded if healthy else None

            loaded = eventually(rules_evaluated, message="every rule evaluated without error")
            assert {r["name"] for r in loaded} == {
                r["alert"]
                for path in RULE_FILES
                for g in yaml.safe_load(path.read_text())["groups"]
                for r in g["rules"]
            }

            for expr in dashboard_expressions():
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                query(url, expr)  # asserts that Prometheus parses and runs it


def test_prometheus_reads_queue_depth_and_consumers_from_rabbitmq(
    services: ServiceUrls, settings: Settings, tmp_path: Path
) -> None:
    try:
        httpx.get(f"{services.rabbitmq_prometheus_url}/metrics", timeout=5).raise_for_status()
    except httpx.HTTPError:
        prerequisite_missing(
            f"RabbitMQ's Prometheus endpoint {services.rabbitmq_prometheus_url} does not answer: "
            "the broker runs without the rabbitmq_prometheus plugin (`make services` enables it "
            "on a broker it starts; AUTHSTREAM_TEST_RABBITMQ_PROMETHEUS_URL points elsewhere)"
        )
    assert main(["setup"]) == 0
    queue = Names(settings.name_prefix).work_queue("index")
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [job] = [j for j in compose["scrape_configs"] if j["job_name"] == "rabbitmq-queues"]
    job["static_configs"] = [{"targets": [urlsplit(services.rabbitmq_prometheus_url).netloc]}]
    with prometheus(tmp_path, [job]) as url:
        with process("run", "--stage", "index"):

            def consumers() -> float:
                found = query(url, f'rabbitmq_detailed_queue_consumers{{queue="{queue}"}}')
                return float(found[0]["value"][1]) if found else -1

            eventually(lambda: consumers() == 1, timeout=60, message="one consumer on the queue")
            names = {
                r["metric"]["__name__"]
                for r in query(url, f'{{__name__=~"rabbitmq_detailed_queue_.+", queue="{queue}"}}')
            }
            assert names >= RABBITMQ_QUEUE_METRICS

        # The worker is gone: the without-consumers alert's condition holds for its queue.
        condition = rule("AuthstreamStageWithoutConsumers")["expr"]

        def without_consumers() -> list[dict[str, Any]]:
            return [r for r in query(url, condition) if r["metric"]["queue"] == queue]

        [found] = eventually(without_consumers, timeout=60, message="the queue without consumers")
        assert found["metric"]["stage"] == "index"
