"""docker-compose.yml cannot run here (no Docker engine): check what can be checked statically,
including the production shape (a service per stage, required secrets, probes, published ports)."""

import re
from typing import Any

import pytest
import yaml

from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG
from tests.helpers import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_the_stack_has_every_component() -> None:
    assert {
        "rabbitmq",
        "elasticsearch",
        "kibana",
        "prometheus",
        "grafana",
        "authstream-index",
    } <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned_to_a_version(name: str) -> None:
    image = SERVICES[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
    assert any(ch.isdigit() for ch in tag), f"{name}: tag {tag!r} is not a version"


def test_every_authstream_variable_exists_in_the_settings() -> None:
    known = {f"AUTHSTREAM_{field.upper()}" for field in Settings.model_fields}
    used = {
        key
        for service in SERVICES.values()
        for key in (service.get("environment") or {})
        if key.startswith("AUTHSTREAM_")
    }
    assert used, "the workers are configured through AUTHSTREAM_* variables"
    assert used <= known, f"unknown settings: {sorted(used - known)}"


def test_workers_wait_for_healthy_services() -> None:
    for name in ("rabbitmq", "elasticsearch"):
        assert "healthcheck" in SERVICES[name]
    conditions = SERVICES["authstream-setup"]["depends_on"]
    assert conditions["rabbitmq"]["condition"] == "service_healthy"
    assert conditions["elasticsearch"]["condition"] == "service_healthy"
    assert SERVICES["authstream-index"]["depends_on"]["authstream-setup"]["condition"] == (
        "service_completed_successfully"
    )


# --- production shape ------------------------------------------------------------------------

RAW = (REPO_ROOT / "docker-compose.yml").read_text()
TLS = yaml.safe_load((REPO_ROOT / "docker-compose.tls.yml").read_text())
SECRETS = ("RABBITMQ_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "AUTHSTREAM_INGEST_TOKEN")
VARIABLE = re.compile(r"\$\{(\w+)(:?[-?])?([^}]*)\}")


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → host path of a service's volumes (``SRC:DST[:ro]``; SRC may hold ':')."""
    found = {}
    for volume in service.get("volumes", []):
        parts = volume.rsplit(":", 2 if volume.endswith((":ro", ":rw")) else 1)
        found[parts[1]] = parts[0]
    return found


def grace_seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * (60 if unit == "m" else 1)


def runs_authstream(service: dict[str, Any]) -> bool:
    return service.get("image", "").startswith("authstream:") and service["command"][0] in (
        "run",
        "ingest",
    )


def test_every_stage_is_its_own_service() -> None:
    for stage in CATALOG:
        service = SERVICES.get(f"authstream-{stage}")
        assert service is not None, (
            f"no service for the {stage} stage: add `authstream-{stage}: {{<<: *stage, "
            f'command: ["run", "--stage", "{stage}"]}}` (and a profile if it needs a key)'
        )
        assert service["command"] == ["run", "--stage", stage]
    commands = [s.get("command", []) for s in SERVICES.values()]
    assert ["run", "--stage", "all"] not in commands, "one process per stage, not all in one"


def test_secrets_are_required_and_have_no_defaults() -> None:
    for name, kind, _ in VARIABLE.findall(RAW):
        if any(word in name for word in ("PASSWORD", "TOKEN", "KEY")):
            assert kind != ":-" and kind != "-", f"{name} has a default"
    required = {name for name, kind, _ in VARIABLE.findall(RAW) if kind == ":?"}
    assert set(SECRETS) <= required
    example = (REPO_ROOT / ".env.example").read_text()
    for name in SECRETS:
        assert re.search(rf"^{name}=$", example, re.M), f".env.example does not list {name}"
    grafana = SERVICES["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    ingest = SERVICES["authstream-ingest"]
    assert "profiles" not in ingest, "ingest is part of the stack: its token is required anyway"
    assert ingest["environment"]["AUTHSTREAM_INGEST_TOKEN"].startswith(
        "${AUTHSTREAM_INGEST_TOKEN:?"
    )


def test_rabbitmq_starts_through_its_image_entrypoint_with_its_plugins() -> None:
    rabbitmq = SERVICES["rabbitmq"]
    assert "command" not in rabbitmq and "entrypoint" not in rabbitmq
    assert rabbitmq.get("user") not in ("root", "0")
    assert "guest" not in RAW, "no default broker account"
    plugins = (REPO_ROOT / mounts(rabbitmq)["/etc/rabbitmq/enabled_plugins"]).read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_workers_are_probed_on_their_metrics_port_and_drained_on_stop() -> None:
    batch_bound = 3 * Settings().elasticsearch_timeout_s  # read, bulk, retry of a conflict
    workers = {n: s for n, s in SERVICES.items() if runs_authstream(s)}
    assert "authstream-index" in workers and "authstream-ingest" in workers
    for name, service in workers.items():
        probe = " ".join(service["healthcheck"]["test"])
        assert "http://127.0.0.1:9464/healthz" in probe, name
        assert service["environment"]["AUTHSTREAM_METRICS_PORT"] == "9464", name
        if service["command"][0] == "run":
            assert grace_seconds(service["stop_grace_period"]) > batch_bound, name


def test_prometheus_scrapes_every_authstream_service_and_loads_the_rules() -> None:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "authstream"]
    scraped = {name for sd in job["dns_sd_configs"] for name in sd["names"]}
    assert scraped == {n for n, s in SERVICES.items() if runs_authstream(s)}
    assert "./deploy/prometheus:/etc/prometheus:ro" in SERVICES["prometheus"]["volumes"]


def test_grafana_finds_its_datasource_and_dashboards() -> None:
    grafana = SERVICES["grafana"]
    mounted = mounts(grafana)
    provisioning = REPO_ROOT / mounted["/etc/grafana/provisioning"]
    provider = yaml.safe_load((provisioning / "dashboards" / "authstream.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    dashboards = REPO_ROOT / mounted[path]
    assert (dashboards / "authstream.json").is_file()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{path}/authstream.json"
    assert (provisioning / "datasources" / "prometheus.yml").is_file()


def test_only_the_webhook_and_grafana_are_published_beyond_this_host() -> None:
    public = {
        (name, port.split(":")[-1])
        for name, service in SERVICES.items()
        for port in service.get("ports", [])
        if not port.startswith("127.0.0.1:")
    }
    assert public == {("authstream-ingest", "8383"), ("grafana", "3000")}


def test_the_tls_override_publishes_amqps_with_the_sample_config() -> None:
    rabbitmq = TLS["services"]["rabbitmq"]
    assert rabbitmq["ports"] == ["5671:5671"]
    mounted = mounts(rabbitmq)
    sample = REPO_ROOT / mounted["/etc/rabbitmq/conf.d/20-tls.conf"]
    assert "listeners.ssl.default = 5671" in sample.read_text()
    assert mounted["/etc/rabbitmq/tls"].startswith("${AUTHSTREAM_TLS_DIR:?")
