"""The Kubernetes manifests stay in step with the code: topics, modules, settings names, safety defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.audit.settings import AuditSettings
from services.common.datamap import load_datamap
from services.common.datamap.loader import ENV_REFERENCE
from services.common.serve import SERVICES
from services.common.topics import ALL_TOPICS
from services.console.settings import ConsoleSettings
from services.deletion.settings import DeletionSettings
from services.discovery.settings import DiscoverySettings
from services.intake.settings import IntakeSettings
from services.optout.settings import OptoutSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS = (IntakeSettings, AuditSettings, OptoutSettings, DiscoverySettings, DeletionSettings, ConsoleSettings)


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def environment_names() -> set[str]:
    names: set[str] = set()
    for settings in SETTINGS:
        for field_name, field in settings.model_fields.items():
            names.add(f"CCPA_{field_name.upper()}")
            alias = field.validation_alias
            choices = getattr(alias, "choices", [alias] if isinstance(alias, str) else [])
            names.update(str(choice) for choice in choices)
    return names


def test_kafka_topic_resources_match_the_declared_topics() -> None:
    declared = {spec.base_name: spec.config(min_insync_replicas=2) for spec in ALL_TOPICS}
    resources = {doc["spec"]["topicName"]: doc["spec"]["config"] for doc in
                 documents(K8S / "components" / "kafka-topics" / "topics.yaml")}  # fmt: skip
    assert resources == declared


# Read by the C runtime under Python, not by the services' settings.
RUNTIME_VARIABLES = {"MALLOC_ARENA_MAX"}


def test_every_config_key_is_a_setting_some_service_reads() -> None:
    config = documents(K8S / "base" / "config.yaml")[0]["data"]
    unknown = sorted(set(config) - environment_names() - RUNTIME_VARIABLES)
    assert unknown == []
    assert config["MALLOC_ARENA_MAX"] == "2"  # as the local stack runs them (devtools/local/process.py)


@pytest.mark.parametrize("service", ["intake", "audit", "optout", "discovery", "deletion", "console"])
def test_deployments_run_a_real_module_safely(service: str) -> None:
    for deployment in service_deployments(service):
        check_deployment(service, deployment)


def service_deployments(service: str) -> list[dict[str, Any]]:
    """The service's Deployments: `<service>-http` and `<service>-worker`, or one (the console)."""
    return [d for d in documents(K8S / "base" / f"{service}.yaml") if d["kind"] == "Deployment"]


def check_deployment(service: str, deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"] == [f"services.{service}"] and service in SERVICES
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert {source.get("secretRef", {}).get("name") for source in container["envFrom"]} >= {"ccpa-secrets"}


def dev_secret_keys(name: str) -> set[str]:
    overlay = documents(K8S / "overlays" / "dev" / "kustomization.yaml")[0]
    generator = next(g for g in overlay["secretGenerator"] if g["name"] == name)
    return {literal.split("=", 1)[0] for literal in generator["literals"]}


@pytest.mark.parametrize("service", ["discovery", "deletion", "optout"])
def test_data_map_services_mount_the_data_map_where_the_config_points(service: str) -> None:
    for deployment in service_deployments(service):
        check_data_map_mount(service, deployment["spec"]["template"]["spec"])


def check_data_map_mount(service: str, pod: dict[str, Any]) -> None:
    config = documents(K8S / "base" / "config.yaml")[0]["data"]
    container = pod["containers"][0]
    volume = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "ccpa-datamap")
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount["readOnly"] is True
    item = next(i for i in volume["configMap"]["items"] if i["key"] == "datamap.yaml")
    assert f"{mount['mountPath']}/{item['path']}" == config["CCPA_DATAMAP"]
    assert container["ports"][0]["containerPort"] == int(config[f"CCPA_{service.upper()}_PORT"])
    kustomization = documents(K8S / "base" / "kustomization.yaml")[0]
    generator = next(g for g in kustomization["configMapGenerator"] if g["name"] == "ccpa-datamap")
    assert generator["files"] == ["datamap.yaml"]


def test_intake_reaches_discovery_on_its_port() -> None:
    config = documents(K8S / "base" / "config.yaml")[0]["data"]
    assert config["CCPA_DISCOVERY_URL"].endswith(f":{config['CCPA_DISCOVERY_PORT']}")


@pytest.mark.parametrize(("service", "settings"), [("discovery", DiscoverySettings), ("deletion", DeletionSettings)])
def test_long_walks_are_not_killed_by_the_liveness_probe(service: str, settings: type[Any]) -> None:
    """A walk or a step of minutes keeps its claim (the heartbeat renews the short lease); the probe lets it run."""
    worker = next(d for d in service_deployments(service) if d["metadata"]["name"] == f"{service}-worker")
    probe = worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 300
    assert probe["periodSeconds"] * probe["failureThreshold"] > settings.model_fields["lease_seconds"].default


@pytest.mark.parametrize("service", ["discovery", "deletion", "optout"])
def test_the_placeholder_data_map_validates_with_the_dev_secrets(service: str) -> None:
    path = K8S / "base" / "datamap.yaml"
    without_comments = yaml.safe_dump(yaml.safe_load(path.read_text()))
    required = {name for name, default in ENV_REFERENCE.findall(without_comments) if not default}
    assert required and required <= dev_secret_keys(f"ccpa-{service}-secrets")
    assert load_datamap(path, env=dict.fromkeys(required, "postgresql+psycopg://u:p@db:5432/app")).stores


@pytest.mark.parametrize("service", ["intake", "optout", "discovery", "deletion"])
def test_services_that_hold_key_material_get_the_keystore_and_master_keys(service: str) -> None:
    keys = {"CCPA_KEYSTORE_URL", "CCPA_MASTER_KEYS", "CCPA_ACTIVE_MASTER_KEY", f"CCPA_{service.upper()}_DATABASE_URL"}
    assert keys <= dev_secret_keys(f"ccpa-{service}-secrets")
