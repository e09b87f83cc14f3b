"""deploy/k8s: the example overlay renders with kustomize (kubectl's), every Kubernetes object
validates offline against Kubernetes' own schemas (kubernetes-validate, strict: no unknown
fields), the KEDA objects against models generated from KEDA's CRDs (cloudcoil-models-keda:
unknown fields are caught by a round trip), and the pieces refer to each other correctly."""

import subprocess
from functools import cache
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda import v1alpha1 as keda

from consumers.core.settings import Settings
from consumers.stages.catalog import CATALOG
from tests.helpers import REPO_ROOT
from tests.ops_tools import kustomize_command

K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAY = K8S / "overlays" / "example"
KUBERNETES_VERSION = "1.30.0"  # the oldest version still supported by most providers
KEDA_MODELS = {
    "ScaledObject": keda.ScaledObject,
    "TriggerAuthentication": keda.TriggerAuthentication,
}


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    built = subprocess.run(
        [*kustomize_command(), str(OVERLAY)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    return tuple(doc for doc in yaml.safe_load_all(built.stdout) if doc)


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered() if doc["kind"] == kind}


def named(kind: str, prefix: str) -> dict[str, Any]:
    """A generated object (ConfigMap, Secret) by its name before kustomize's hash suffix."""
    [found] = [doc for name, doc in objects(kind).items() if name.rsplit("-", 1)[0] == prefix]
    return found


def test_every_kubernetes_object_validates_against_the_schemas() -> None:
    core = [doc for doc in rendered() if doc["kind"] not in KEDA_MODELS]
    assert {doc["kind"] for doc in core} >= {"Deployment", "Service", "Job", "Secret", "ConfigMap"}
    for doc in core:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {exc.message} at {exc.path}")


def test_every_keda_object_matches_kedas_crd_models_without_unknown_fields() -> None:
    keda_docs = [doc for doc in rendered() if doc["kind"] in KEDA_MODELS]
    assert {doc["kind"] for doc in keda_docs} == set(KEDA_MODELS)
    for doc in keda_docs:
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        model = KEDA_MODELS[doc["kind"]].model_validate(doc)
        # Unknown fields are dropped by the models: a round trip that loses one fails here.
        assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") == doc


def test_every_stage_has_a_deployment_with_probes_resources_and_a_graceful_stop() -> None:
    stage_folders = {path.name for path in (K8S / "stages").iterdir() if path.is_dir()}
    assert stage_folders == set(CATALOG), (
        "deploy/k8s/stages has one folder per stage (copy stages/index, change the names), "
        "listed in the overlays"
    )
    deployments = objects("Deployment")
    batch_bound = 3 * Settings().elasticsearch_timeout_s
    for stage in CATALOG:
        deployment = deployments[f"authstream-{stage}"]
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["args"] == ["run", "--stage", stage]
        assert pod["terminationGracePeriodSeconds"] > batch_bound
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert {"name": "metrics", "containerPort": 9464} in container["ports"]
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector["app.kubernetes.io/component"] == stage
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_every_stage_scales_on_its_own_queue_with_keda() -> None:
    scaled = objects("ScaledObject")
    authentications = objects("TriggerAuthentication")
    deployments = objects("Deployment")
    for stage in CATALOG:
        spec = scaled[f"authstream-{stage}"]["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert spec["scaleTargetRef"]["name"] == f"authstream-{stage}"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        [trigger] = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == f"authstream.{stage}"
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert int(trigger["metadata"]["value"]) > 0
        assert trigger["authenticationRef"]["name"] in authentications
    secrets = objects("Secret")
    for authentication in authentications.values():
        for reference in authentication["spec"]["secretTargetRef"]:
            assert reference["name"] in secrets, reference
            assert reference["key"] in secrets[reference["name"]]["data"], reference


def test_pods_find_their_config_and_secrets_and_run_unprivileged() -> None:
    config = named("ConfigMap", "authstream-config")
    secrets = named("Secret", "authstream-secrets")
    assert config["data"]["AUTHSTREAM_METRICS_PORT"] == "9464"
    assert "AUTHSTREAM_INGEST_TOKEN" in secrets["data"]
    known = set(Settings.model_fields)
    for doc in [*objects("Deployment").values(), *objects("Job").values()]:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
            assert sources == {config["metadata"]["name"], secrets["metadata"]["name"]}
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for variable in [*config["data"], *secrets["data"]]:
        assert variable.removeprefix("AUTHSTREAM_").lower() in known, variable


def test_the_ingest_service_reaches_the_ingest_pods() -> None:
    service = objects("Service")["authstream-ingest"]
    deployment = objects("Deployment")["authstream-ingest"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    ports = {port["name"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert objects("Job")["authstream-setup"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ] == ["setup"]
