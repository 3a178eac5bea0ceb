"""Every overlay validates offline against the vendored schemas (Kubernetes, the CRDs); a wrong field is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.k8s.render import OVERLAYS, SCHEMA_LOCATIONS, SCHEMAS, Validation, rendered, validate
from devtools.k8s.tools import ToolMissing
from tests.unit.k8s_manifests import rendered_resources


def checked(manifests: str) -> Validation:
    try:
        return validate(manifests)
    except ToolMissing as missing:
        pytest.skip(str(missing))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_of_the_overlay_validates_against_its_schema(overlay: str) -> None:
    rendered_resources(overlay)
    result = checked(rendered(overlay))
    assert result.ok, result.report
    assert "Skipped: 0" in result.report and "Errors: 0" in result.report


def test_the_schemas_are_local_files_only() -> None:
    """No schema is fetched at validation time: every location is a path inside the repository."""
    assert all(location.startswith(str(SCHEMAS)) for location in SCHEMA_LOCATIONS)
    kinds = {path.name for path in SCHEMAS.rglob("*.json")}
    assert {"deployment-apps-v1.json", "kafkatopic_v1beta2.json", "kafkauser_v1beta2.json",
            "scaledobject_v1alpha1.json", "triggerauthentication_v1alpha1.json", "servicemonitor_v1.json",
            "prometheusrule_v1.json"} <= kinds  # fmt: skip


def one(overlay: str, kind: str, name: str) -> dict[str, Any]:
    return next(d for d in rendered_resources(overlay) if d["kind"] == kind and d["metadata"]["name"] == name)


BROKEN: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], None]]] = {
    "a misspelt Deployment field": ("dev", "Deployment", "discovery-worker",
                                    lambda d: d["spec"]["template"]["spec"].update(securityContxt={})),
    "a replica count as text": ("dev", "Deployment", "audit-http", lambda d: d["spec"].update(replicas="two")),
    "a KafkaUser with an unknown authentication": ("production-topics", "KafkaUser", "ccpa-audit",
                                                   lambda d: d["spec"]["authentication"].update(type="password")),
    "a KafkaTopic field Strimzi does not know": ("production-topics", "KafkaTopic", "privacy-requests",
                                                 lambda d: d["spec"].update(partition=6)),
    "a ScaledObject with a misspelt field": ("production", "ScaledObject", "audit-worker",
                                             lambda d: d["spec"].update(maxReplicas=6)),
    "a ServiceMonitor endpoint field that does not exist": ("production-monitored", "ServiceMonitor", "ccpa-pipeline",
                                                            lambda d: d["spec"]["endpoints"][0].update(scrape="30s")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_manifest_is_refused(case: str) -> None:
    overlay, kind, name, breaking = BROKEN[case]
    document = yaml.safe_load(yaml.safe_dump(one(overlay, kind, name)))  # a copy: the rendered cache stays intact
    assert checked(yaml.safe_dump(document)).ok, f"{kind}/{name} should be valid before breaking it"
    breaking(document)
    result = checked(yaml.safe_dump(document))
    assert not result.ok and f"{kind} {name} is invalid" in result.report, result.report


def test_a_kind_without_a_vendored_schema_is_an_error_not_a_skip(tmp_path: Path) -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    result = checked(yaml.safe_dump(unknown))
    assert not result.ok and "could not find schema for Widget" in result.report


def test_validation_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every proxy pointing at a closed port (so any download would fail), the overlays still validate."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    result = checked(rendered("production-monitored"))
    assert result.ok, result.report
