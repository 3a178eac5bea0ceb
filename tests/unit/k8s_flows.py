"""The network flows the services need, in one place: tests/unit/test_k8s_policies.py checks the rendered
NetworkPolicies allow exactly these (nothing missing, nothing more); base/network-policies.yaml and
docs/deploy-kubernetes.md say the same in words.
"""

from __future__ import annotations

from devtools.k8s.netpol import Outside

ANYONE = Outside("an address outside the cluster", None)
MONITORING = Outside("the monitoring namespace (Prometheus)", {"kubernetes.io/metadata.name": "monitoring"})
OPERATORS = Outside("a namespace labelled for operators", {"kubernetes.io/metadata.name": "internal-ingress",
                                                           "ccpa-pipeline/access": "operators"})  # fmt: skip
ELSEWHERE = Outside("another application's namespace", {"kubernetes.io/metadata.name": "shop"})
OUTSIDE = (ANYONE, MONITORING, OPERATORS, ELSEWHERE)

HTTP_DEPLOYMENTS = ("intake-http", "discovery-http", "deletion-http", "optout-http", "audit-http", "console")
WORKER_DEPLOYMENTS = ("intake-worker", "discovery-worker", "deletion-worker", "optout-worker", "audit-worker")

# (who calls, which Deployment's pods, on their http port). "anyone" is every peer outside the namespace.
CALLS: frozenset[tuple[str, str]] = frozenset({
    ("anyone", "intake-http"),            # submissions, the privacy center, report downloads
    ("intake-http", "discovery-http"),    # report fetches
    ("intake-http", "optout-http"),       # consent look-ups
    ("console", "intake-http"),
    ("console", "audit-http"),
    ("console", "deletion-http"),
    ("console", "optout-http"),
    ("operators", "console"),
    ("operators", "audit-http"),          # timelines, metrics, proofs
    ("operators", "deletion-http"),       # legal holds, providers' confirmations through the internal ingress
    *(("monitoring", name) for name in (*HTTP_DEPLOYMENTS, *WORKER_DEPLOYMENTS)),  # /metrics
})  # fmt: skip

# Every pod reaches these outside the namespace (Kafka, PostgreSQL, DNS), and nothing else there.
EGRESS_PORTS: frozenset[tuple[int, str]] = frozenset({(9092, "TCP"), (9093, "TCP"), (5432, "TCP"), (53, "UDP"),
                                                      (53, "TCP")})  # fmt: skip
NOT_EGRESS_PORTS = ((443, "TCP"), (80, "TCP"), (6379, "TCP"), (3306, "TCP"))
