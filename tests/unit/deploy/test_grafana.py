"""deploy/grafana: the provisioned datasource and dashboard fit together, and every metric the
dashboard and the alert rules read is one the code exports (or RabbitMQ's per-queue metrics)."""

import json
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from consumers.pipeline import metrics
from consumers.stages import destinations as destinations_stage
from consumers.stages import segments as segments_stage
from tests.helpers import REPO_ROOT
from tests.promql import metric_names

GRAFANA = REPO_ROOT / "deploy" / "grafana"
DASHBOARD: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "authstream.json").read_text())
DATASOURCES = yaml.safe_load(
    (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
)
RULE_FILES = sorted((REPO_ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))

# RabbitMQ's rabbitmq_prometheus plugin, /metrics/detailed?family=queue_coarse_metrics&
# family=queue_consumer_count (checked against a real broker in tests/integration/deploy).
RABBITMQ_QUEUE_METRICS = frozenset(
    {
        "rabbitmq_detailed_queue_messages",
        "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_messages_unacked",
        "rabbitmq_detailed_queue_consumers",
    }
)
PROMETHEUS_OWN = frozenset({"up"})


def panels() -> list[dict[str, Any]]:
    return [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def rule_expressions() -> list[str]:
    return [
        rule["expr"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def exported_by_the_code() -> set[str]:
    """Every sample name the registry exports once each kind of process has started."""
    metrics.start_stage("consistency")
    metrics.start_bulk("consistency")
    metrics.start_provider("consistency")
    metrics.BUDGET_LIMIT.labels("consistency", "day")
    metrics.BUDGET_REMAINING.labels("consistency", "day")
    metrics.start_ingest()
    metrics.start_collector({"consistency"})
    segments_stage.TRANSITIONS.labels("consistency", "entered")
    destinations_stage.DELIVERIES.labels("consistency", "webhook", "delivered")
    return {sample.name for family in REGISTRY.collect() for sample in family.samples}


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (stage) (rate(a_total{outcome="done", q=~"x\\\\.y"}[$__rate_interval]))',
            {"a_total"},
        ),
        ("histogram_quantile(0.9, sum by (le) (rate(b_bucket[5m]))) > 60", {"b_bucket"}),
        ('label_replace(c, "stage", "$1", "queue", ".*")', {"c"}),
        ('(x == 0) and on (stage) (y > 0) or absent(z{a="b"})', {"x", "y", "z"}),
        ("time() - h / max by (p) (l > 0) < 0.1", {"h", "l"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_panel_reads_the_provisioned_datasource() -> None:
    [datasource] = DATASOURCES["datasources"]
    uid = datasource["uid"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    for panel in panels():
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
    for variable in DASHBOARD["templating"]["list"]:
        assert variable["datasource"]["uid"] == uid


def test_the_dashboard_has_what_an_sre_looks_for() -> None:
    titles = " | ".join(p["title"].lower() for p in panels())
    for wanted in ("throughput", "lag", "parked", "queue depth", "calls", "budget", "bulk"):
        assert wanted in titles, wanted
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert DASHBOARD["uid"] == "authstream-overview"
    for panel in panels():
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_every_metric_the_dashboard_and_alerts_read_is_exported() -> None:
    known = exported_by_the_code() | RABBITMQ_QUEUE_METRICS | PROMETHEUS_OWN
    variables = [v["query"]["query"] for v in DASHBOARD["templating"]["list"]]
    used_by = {
        "dashboard": set().union(*map(metric_names, dashboard_expressions())),
        "alerts": set().union(*map(metric_names, rule_expressions())),
        "variables": {q.removeprefix("label_values(").split(",")[0] for q in variables},
    }
    for where, names in used_by.items():
        assert names, where
        assert names - known == set(), f"the {where} read metrics nothing exports"


def test_every_metric_the_code_exports_is_on_the_dashboard() -> None:
    shown = set().union(*map(metric_names, dashboard_expressions()))
    families = {
        family.name
        for family in REGISTRY.collect()
        if family.name.startswith("authstream_") and family.name != "authstream_build"
    }
    missing = {
        family
        for family in families
        if not any(name == family or name.startswith(f"{family}_") for name in shown)
    }
    assert missing == set(), "metrics no panel shows"
