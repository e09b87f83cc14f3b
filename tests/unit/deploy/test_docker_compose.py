"""docker-compose.yml cannot run here (no Docker engine): check what can be checked statically."""

from typing import Any

import pytest
import yaml

from consumers.core.settings import Settings
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
