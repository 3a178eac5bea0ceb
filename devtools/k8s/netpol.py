"""What a set of NetworkPolicies allows, computed the way the Kubernetes API defines it, for the policy tests.

A pod is isolated for ingress (egress) once any policy of that type selects it; then only what some rule of those
policies admits passes. A flow between two pods of the namespace needs both the source's egress and the
destination's ingress. Peers outside the namespace are a namespace's labels or an address outside the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Labels = dict[str, str]


@dataclass(frozen=True)
class Pod:
    """A pod of the application namespace: its labels and its named container ports."""

    name: str
    labels: Labels
    ports: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Outside:
    """A peer outside the namespace: pods of a namespace with `namespace_labels`, or (None) an outside address."""

    name: str
    namespace_labels: Labels | None


Peer = Pod | Outside


def selects(selector: dict[str, Any] | None, labels: Labels) -> bool:
    """A label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) against labels."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def _peer_matches(entry: dict[str, Any], peer: Peer, own_namespace: Labels) -> bool:
    if "ipBlock" in entry:
        return isinstance(peer, Outside) and peer.namespace_labels is None
    pods, namespaces = entry.get("podSelector"), entry.get("namespaceSelector")
    if isinstance(peer, Pod):
        in_namespace = namespaces is None or selects(namespaces, own_namespace)
        return in_namespace and (pods is None or selects(pods, peer.labels))
    if peer.namespace_labels is None or namespaces is None:
        return False
    # Pods of another namespace carry labels we cannot know: only a rule admitting all of them counts.
    return selects(namespaces, peer.namespace_labels) and (pods is None or selects(pods, {}))


def _port_matches(rule: dict[str, Any], port: int, protocol: str, target: Pod | None) -> bool:
    if "ports" not in rule:
        return True
    for entry in rule["ports"]:
        wanted = entry.get("port")
        named = target.ports.get(wanted) if isinstance(wanted, str) and target else None
        number = named if isinstance(wanted, str) else wanted
        if entry.get("protocol", "TCP") == protocol and (wanted is None or number == port):
            return True
    return False


def _rules_admit(rules: list[dict[str, Any]], key: str, peer: Peer, port: int, protocol: str,
                 target: Pod | None, own_namespace: Labels) -> bool:  # fmt: skip
    for rule in rules:
        peers_ok = key not in rule or any(_peer_matches(entry, peer, own_namespace) for entry in rule[key])
        if peers_ok and _port_matches(rule, port, protocol, target):
            return True
    return False


@dataclass(frozen=True)
class Policies:
    """The NetworkPolicies of one namespace (rendered documents) and that namespace's labels."""

    documents: list[dict[str, Any]]
    namespace_labels: Labels

    def _of_type(self, kind: str, pod: Pod) -> list[dict[str, Any]]:
        return [policy["spec"] for policy in self.documents
                if kind in policy["spec"].get("policyTypes", ["Ingress"])
                and selects(policy["spec"]["podSelector"], pod.labels)]  # fmt: skip

    def ingress(self, source: Peer, target: Pod, port: int, protocol: str = "TCP") -> bool:
        specs = self._of_type("Ingress", target)
        rules = [rule for spec in specs for rule in spec.get("ingress", [])]
        return not specs or _rules_admit(rules, "from", source, port, protocol, target, self.namespace_labels)

    def egress(self, source: Pod, target: Peer, port: int, protocol: str = "TCP") -> bool:
        specs = self._of_type("Egress", source)
        rules = [rule for spec in specs for rule in spec.get("egress", [])]
        destination = target if isinstance(target, Pod) else None
        return not specs or _rules_admit(rules, "to", target, port, protocol, destination, self.namespace_labels)

    def allows(self, source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
        """Whether a connection from `source` to `target` on `port` gets through every policy on its way."""
        if isinstance(source, Pod) and not self.egress(source, target, port, protocol):
            return False
        return not isinstance(target, Pod) or self.ingress(source, target, port, protocol)
