"""Who may do what on the cluster: each service's (and each integration's) Kafka principal, the topics it reads and
writes, and the consumer groups it joins. One table, used for the broker's ACLs (the secured local cluster), the
Strimzi KafkaUser resources (deploy/k8s), the start-up permission check and the table in docs/deploy-kubernetes.md.

A principal gets exactly these rights and no more: no Create (topics are made by an operator or the Strimzi Topic
Operator), no Alter, nothing on the cluster. Consumer groups are granted by prefix so that a service's group and
the per-process groups it derives (`flow-cache-<name>-<uuid>`) are covered without a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from services.common.topics import (
    ALL_TOPICS,
    AUDIT_SNAPSHOTS,
    CONSENT_CHANGES,
    DEADLINES,
    DELETION_RESULTS,
    DISCOVERY_RESULTS,
    DLQ,
    FAILURES,
    FLOWS_BLOCKED,
    OPERATOR_ACTIONS,
    OPTOUT_ACKS,
    OPTOUT_RESULTS,
    OPTOUT_STATE,
    REQUESTS,
    TopicNames,
    TopicSpec,
)


class Operation(StrEnum):
    """Kafka ACL operations, by the names Kafka, Strimzi and confluent-kafka's AclOperation use."""

    READ = "Read"
    WRITE = "Write"
    DESCRIBE = "Describe"


class ResourceType(StrEnum):
    TOPIC = "topic"
    GROUP = "group"


class Pattern(StrEnum):
    LITERAL = "literal"
    PREFIXED = "prefix"


@dataclass(frozen=True)
class Principal:
    """One Kafka user: what it reads (consumes), writes (produces), describes only, and the group prefixes it joins."""

    name: str  # the SCRAM user name; the ACLs name it as `User:<name>`
    what: str  # who runs as it, for people
    reads: tuple[TopicSpec, ...] = ()
    writes: tuple[TopicSpec, ...] = ()
    describes: tuple[TopicSpec, ...] = ()  # watermarks only (e.g. the console's DLQ count)
    group_prefixes: tuple[str, ...] = ()

    def topics(self) -> tuple[TopicSpec, ...]:
        """Every topic this principal touches, each once, in declaration order."""
        # By name: a TopicSpec with `extra` settings (a dict) is not hashable, so dict.fromkeys(specs) cannot dedupe.
        unique: dict[str, TopicSpec] = {}
        for spec in (*self.reads, *self.writes, *self.describes):
            unique.setdefault(spec.base_name, spec)
        return tuple(unique.values())

    def operations(self, spec: TopicSpec) -> frozenset[Operation]:
        """What this principal may do on one topic (empty: nothing)."""
        ops: set[Operation] = set()
        if spec in self.reads:
            ops |= {Operation.READ, Operation.DESCRIBE}
        if spec in self.writes:
            ops |= {Operation.WRITE, Operation.DESCRIBE}
        if spec in self.describes:
            ops.add(Operation.DESCRIBE)
        return frozenset(ops)


@dataclass(frozen=True)
class AclRow:
    """One ACL entry: ALLOW `User:<principal>` `operation` on a topic or group (literal or prefixed), any host."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern: Pattern
    operation: Operation


# Every consumer dead-letters poison messages (DLQ) and every outbox relay parks what it cannot publish (FAILURES).
SHARED_WRITES = (DLQ, FAILURES)

INTAKE = Principal(
    "ccpa-intake", "intake (HTTP and worker)",
    reads=(DISCOVERY_RESULTS, DELETION_RESULTS, OPTOUT_RESULTS, OPTOUT_STATE),
    writes=(REQUESTS, CONSENT_CHANGES, FLOWS_BLOCKED, *SHARED_WRITES),
    group_prefixes=("ccpa-intake", "flow-cache-"),
)  # fmt: skip
DISCOVERY = Principal(
    "ccpa-discovery", "discovery",
    reads=(REQUESTS, DELETION_RESULTS), writes=(DISCOVERY_RESULTS, *SHARED_WRITES),
    group_prefixes=("ccpa-discovery",),
)  # fmt: skip
DELETION = Principal(
    "ccpa-deletion", "deletion",
    reads=(REQUESTS, DISCOVERY_RESULTS), writes=(DELETION_RESULTS, *SHARED_WRITES),
    group_prefixes=("ccpa-deletion",),
)  # fmt: skip
OPTOUT = Principal(
    "ccpa-optout", "opt-out (and the downstream subscribers it runs)",
    reads=(REQUESTS, CONSENT_CHANGES, OPTOUT_ACKS, OPTOUT_STATE),
    writes=(OPTOUT_STATE, OPTOUT_RESULTS, OPTOUT_ACKS, *SHARED_WRITES),
    group_prefixes=("ccpa-optout", "downstream-", "flow-cache-"),
)  # fmt: skip
AUDIT = Principal(
    "ccpa-audit", "audit (and `ccpa audit rebuild`)",
    reads=(*(spec for spec in ALL_TOPICS if spec is not DLQ),),
    writes=(AUDIT_SNAPSHOTS, DEADLINES, *SHARED_WRITES),
    group_prefixes=("ccpa-audit",),
)  # fmt: skip
CONSOLE = Principal(
    "ccpa-console", "the operator console",
    writes=(OPERATOR_ACTIONS, FAILURES), describes=(DLQ,),
    group_prefixes=("ccpa-console",),
)  # fmt: skip
# Integrations outside the pipeline's services: a downstream system's subscriber (services/optout/subscriber.py),
# a gated flow's enforcement (services/common/flows), the product SDK that records consent (services/optout/sdk.py).
DOWNSTREAM = Principal(
    "ccpa-downstream", "a downstream system's opt-out subscriber",
    reads=(OPTOUT_STATE,), writes=(OPTOUT_ACKS,),
    group_prefixes=("downstream-", "flow-cache-probe-"),
)  # fmt: skip
ENFORCEMENT = Principal(
    "ccpa-enforcement", "a gated flow (export job, event forwarder) deciding on the opt-out state",
    reads=(OPTOUT_STATE,), writes=(FLOWS_BLOCKED,),
    group_prefixes=("flow-cache-",),
)  # fmt: skip
PRODUCT = Principal("ccpa-product", "a product recording consent with the SDK", writes=(CONSENT_CHANGES,))

SERVICE_PRINCIPALS: dict[str, Principal] = {
    "intake": INTAKE,
    "discovery": DISCOVERY,
    "deletion": DELETION,
    "optout": OPTOUT,
    "audit": AUDIT,
    "console": CONSOLE,
}
PRINCIPALS: tuple[Principal, ...] = (*SERVICE_PRINCIPALS.values(), DOWNSTREAM, ENFORCEMENT, PRODUCT)


def principal_of(service: str) -> Principal:
    return SERVICE_PRINCIPALS[service]


def acl_rows(principal: Principal, names: TopicNames) -> Iterator[AclRow]:
    """The ACL entries `principal` needs, topics named under `names`' namespace (literal), groups by prefix."""
    for spec in principal.topics():
        for operation in sorted(principal.operations(spec)):
            yield AclRow(principal.name, ResourceType.TOPIC, names(spec), Pattern.LITERAL, operation)
    for prefix in principal.group_prefixes:
        yield AclRow(principal.name, ResourceType.GROUP, prefix, Pattern.PREFIXED, Operation.READ)


def all_acl_rows(names: TopicNames) -> list[AclRow]:
    return [row for principal in PRINCIPALS for row in acl_rows(principal, names)]
