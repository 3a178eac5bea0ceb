"""Policies every rendered overlay keeps: hardened pods with resources, probes and a PDB, one autoscaler per target,
workers that never outnumber the partitions, and NetworkPolicies that allow exactly the flows the services need."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.k8s.netpol import Outside, Pod, Policies, selects
from tests.unit import k8s_flows as flows
from tests.unit.k8s_manifests import SERVICE_OVERLAYS, config, of_kind, rendered_resources

ROLES: dict[str, str | None] = {**dict.fromkeys(flows.HTTP_DEPLOYMENTS, "http"),
                                **dict.fromkeys(flows.WORKER_DEPLOYMENTS, "worker")}  # fmt: skip
ROLES["console"] = None  # one Deployment of every role: no consumer group to scale apart


def deployments(overlay: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in of_kind(overlay, "Deployment")}


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_the_overlay_runs_each_service_as_http_and_worker_deployments(overlay: str) -> None:
    assert set(deployments(overlay)) == set(ROLES)
    for name, deployment in deployments(overlay).items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in container.get("env", [])}
        assert env.get("CCPA_SERVICE_ROLE") == ROLES[name], name


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_every_deployment_is_hardened_with_resources_and_probes(overlay: str) -> None:
    for name, deployment in deployments(overlay).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert "ALL" in security["capabilities"]["drop"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name}: {bound}"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_every_deployment_has_exactly_one_disruption_budget(overlay: str) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget")
    for name, deployment in deployments(overlay).items():
        covering = [b["metadata"]["name"] for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert covering == [name], name


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_each_service_routes_to_the_pods_of_one_deployment(overlay: str) -> None:
    for service in of_kind(overlay, "Service"):
        selector = {"matchLabels": service["spec"]["selector"]}
        chosen = [name for name, d in deployments(overlay).items() if selects(selector, pod_labels(d))]
        expected = service["metadata"]["name"] if service["metadata"]["name"] in ROLES else None
        assert chosen == [expected or f"{service['metadata']['name']}-http"], service["metadata"]["name"]


def autoscaled_targets(overlay: str) -> list[str]:
    hpas = [hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(overlay, "HorizontalPodAutoscaler")]
    return hpas + [scaled["spec"]["scaleTargetRef"]["name"] for scaled in of_kind(overlay, "ScaledObject")]


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_no_target_has_two_autoscalers_and_autoscaled_deployments_carry_no_replicas(overlay: str) -> None:
    targets = autoscaled_targets(overlay)
    assert len(targets) == len(set(targets))
    for name in targets:
        assert "replicas" not in deployments(overlay)[name]["spec"], f"{name}: apply would reset the autoscaler"


def test_production_scales_intake_http_on_cpu_and_every_worker_on_lag() -> None:
    hpas = of_kind("production", "HorizontalPodAutoscaler")
    assert [(h["spec"]["scaleTargetRef"]["name"], h["spec"]["metrics"][0]["resource"]["name"]) for h in hpas] == [
        ("intake-http", "cpu")
    ]
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind("production", "ScaledObject")}
    assert set(scaled) == set(flows.WORKER_DEPLOYMENTS)
    assert all(t["type"] == "kafka" for s in scaled.values() for t in s["spec"]["triggers"])


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_workers_never_outnumber_the_partitions(overlay: str) -> None:
    partitions = int(config(overlay)["CCPA_TOPIC_PARTITIONS"])
    for name in flows.WORKER_DEPLOYMENTS:
        assert deployments(overlay)[name]["spec"].get("replicas", 1) <= partitions, name
    for scaled in of_kind(overlay, "ScaledObject"):
        assert scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"] <= partitions
        assert all(t["metadata"].get("allowIdleConsumers", "false") == "false" for t in scaled["spec"]["triggers"])


def pods(overlay: str) -> dict[str, Pod]:
    return {name: Pod(name, pod_labels(d), {port["name"]: port["containerPort"]
                                            for port in d["spec"]["template"]["spec"]["containers"][0]["ports"]})
            for name, d in deployments(overlay).items()}  # fmt: skip


def policies(overlay: str) -> Policies:
    namespace = next(doc["metadata"]["name"] for doc in rendered_resources(overlay) if doc["kind"] == "Namespace")
    return Policies(of_kind(overlay, "NetworkPolicy"), {"kubernetes.io/metadata.name": namespace})


def caller_name(peer: Pod | Outside) -> str:
    names = {flows.MONITORING.name: "monitoring", flows.OPERATORS.name: "operators"}
    return names.get(peer.name, peer.name)


def expected_call(source: Pod | Outside, target: str) -> bool:
    from_anyone = isinstance(source, Outside) and ("anyone", target) in flows.CALLS
    return from_anyone or (caller_name(source), target) in flows.CALLS


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_network_policies_allow_exactly_the_declared_calls(overlay: str) -> None:
    everyone, network = pods(overlay), policies(overlay)
    allowed, expected = set(), set()
    sources: list[Pod | Outside] = [*everyone.values(), *flows.OUTSIDE]
    for source in sources:
        for target in everyone.values():
            if network.allows(source, target, target.ports["http"]):
                allowed.add((caller_name(source), target.name))
            if expected_call(source, target.name):
                expected.add((caller_name(source), target.name))
            assert not network.allows(source, target, 9999), f"{source.name} -> {target.name}: any port"
    assert sorted(allowed - expected) == [] and sorted(expected - allowed) == []


@pytest.mark.parametrize("overlay", SERVICE_OVERLAYS)
def test_every_pod_reaches_kafka_postgres_and_dns_and_nothing_else_outside(overlay: str) -> None:
    network = policies(overlay)
    for pod in pods(overlay).values():
        for peer in (flows.OUTSIDE[0], Outside("kafka", {"kubernetes.io/metadata.name": "kafka"})):
            for port, protocol in flows.EGRESS_PORTS:
                assert network.allows(pod, peer, port, protocol), f"{pod.name} -> {port}/{protocol}"
            for port, protocol in flows.NOT_EGRESS_PORTS:
                assert not network.allows(pod, peer, port, protocol), f"{pod.name} -> {port}/{protocol}"


def test_a_policy_admitting_more_than_the_declared_calls_is_caught() -> None:
    """The check above can fail: "every pod may call every pod of the namespace" (as the base once had) adds flows."""
    everyone = pods("production")
    too_open = {"kind": "NetworkPolicy", "metadata": {"name": "namespace-open"}, "spec": {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]}}  # fmt: skip
    base = policies("production")
    widened = Policies([*base.documents, too_open], base.namespace_labels)
    worker, audit = everyone["intake-worker"], everyone["audit-http"]
    assert not base.allows(worker, audit, audit.ports["http"])
    assert widened.allows(worker, audit, audit.ports["http"])
    assert not widened.allows(flows.ANYONE, audit, audit.ports["http"])


def test_production_pods_mount_the_kafka_ca_where_the_extra_config_can_name_it() -> None:
    for name, deployment in deployments("production").items():
        pod = deployment["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
        assert volume["secret"]["optional"] is True, name  # a cluster without TLS needs no such Secret
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "kafka-ca")
        assert mount["mountPath"] == "/etc/kafka-ca" and mount["readOnly"] is True, name
