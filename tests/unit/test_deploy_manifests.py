"""The Kubernetes manifests stay in step with the code: topics, modules, settings names, safety defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.audit.settings import AuditSettings
from services.common.serve import SERVICES
from services.common.topics import ALL_TOPICS
from services.intake.settings import IntakeSettings
from services.optout.settings import OptoutSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS = (IntakeSettings, AuditSettings, OptoutSettings)


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


def test_every_config_key_is_a_setting_some_service_reads() -> None:
    config = documents(K8S / "base" / "config.yaml")[0]["data"]
    unknown = sorted(set(config) - environment_names())
    assert unknown == []


@pytest.mark.parametrize("service", ["intake", "audit", "optout"])
def test_deployments_run_a_real_module_safely(service: str) -> None:
    deployment = next(d for d in documents(K8S / "base" / f"{service}.yaml") if d["kind"] == "Deployment")
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
