"""Every topic of the pipeline, declared once (partitions, cleanup, retention) and created idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from services.common.event_types import EventType

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    base_name: str
    cleanup_policy: str = "delete"
    retention_ms: int = 30 * DAY_MS
    extra: dict[str, str] = field(default_factory=dict)

    def config(self, min_insync_replicas: int) -> dict[str, str]:
        config = {"cleanup.policy": self.cleanup_policy, "min.insync.replicas": str(min_insync_replicas)}
        if self.cleanup_policy == "delete":
            config["retention.ms"] = str(self.retention_ms)
        return {**config, **self.extra}


REQUESTS = TopicSpec("privacy.requests", retention_ms=400 * DAY_MS)
DISCOVERY_RESULTS = TopicSpec("privacy.discovery.results", retention_ms=400 * DAY_MS)
DELETION_RESULTS = TopicSpec("privacy.deletion.results", retention_ms=400 * DAY_MS)
CONSENT_CHANGES = TopicSpec("privacy.consent.changes", retention_ms=400 * DAY_MS)
OPTOUT_STATE = TopicSpec("privacy.optout.state", cleanup_policy="compact", extra={"min.compaction.lag.ms": "0"})
OPTOUT_ACKS = TopicSpec("privacy.optout.acks", retention_ms=400 * DAY_MS)
OPTOUT_RESULTS = TopicSpec("privacy.optout.results", retention_ms=400 * DAY_MS)
FAILURES = TopicSpec("privacy.failures", retention_ms=400 * DAY_MS)
DEADLINES = TopicSpec("privacy.deadlines", retention_ms=400 * DAY_MS)
# What people of the privacy team did through the console (OperatorActed); audit puts each on the timeline.
OPERATOR_ACTIONS = TopicSpec("privacy.operator.actions", retention_ms=400 * DAY_MS)
# Evidence of effect: flows the decision library stopped (FlowBlocked, services/common/flows); audit puts each on
# the timeline of the opt-out or limit whose state decided it.
FLOWS_BLOCKED = TopicSpec("privacy.flows.blocked", retention_ms=400 * DAY_MS)
DLQ = TopicSpec("privacy.dlq", retention_ms=30 * DAY_MS)
# Audit's compacted snapshot of its §7101 records and timeline (services/audit/snapshots.py): no events, never
# audited; it outlives the 400-day event topics so a rebuild restores 24 months.
AUDIT_SNAPSHOTS = TopicSpec("privacy.audit.snapshots", cleanup_policy="compact")

ALL_TOPICS = (
    REQUESTS,
    DISCOVERY_RESULTS,
    DELETION_RESULTS,
    CONSENT_CHANGES,
    OPTOUT_STATE,
    OPTOUT_ACKS,
    OPTOUT_RESULTS,
    FAILURES,
    DEADLINES,
    OPERATOR_ACTIONS,
    FLOWS_BLOCKED,
    DLQ,
    AUDIT_SNAPSHOTS,
)

E = EventType
# The event types each topic carries, by base name (docs/architecture.md, "Events and topics"); the DLQ carries
# raw bytes.
EVENT_TYPES_ON: dict[str, frozenset[EventType]] = {
    REQUESTS.base_name: frozenset(
        {
            E.REQUEST_SUBMITTED,
            E.REQUEST_DENIED,
            E.REQUEST_EXTENDED,
            E.REPORT_DOWNLOADED,
            E.KEYS_SHREDDED,
            E.NOTICE_SENT,
            E.ANSWER_REVIEWED,
        }
    ),
    CONSENT_CHANGES.base_name: frozenset({E.CONSENT_CHANGED}),
    OPTOUT_ACKS.base_name: frozenset({E.OPT_OUT_ACKNOWLEDGED}),
    DISCOVERY_RESULTS.base_name: frozenset(
        {
            E.DISCOVERY_STARTED,
            E.STORE_SEARCHED,
            E.DISCOVERY_COMPLETED,
            E.REPORT_READY,
            E.REPORT_DESTROYED,
            E.REQUEST_COMPLETED,
        }
    ),
    DELETION_RESULTS.base_name: frozenset(
        {
            E.STORE_ERASED,
            E.DELETION_VERIFIED,
            E.PROVIDER_INSTRUCTED,
            E.PROVIDER_CONFIRMED,
            E.PROVIDER_OVERDUE,
            E.DELETION_COMPLETED,
            E.REQUEST_COMPLETED,
        }
    ),
    OPTOUT_STATE.base_name: frozenset({E.OPT_OUT_STATE}),
    OPTOUT_RESULTS.base_name: frozenset(
        {E.OPT_OUT_APPLIED, E.REQUEST_COMPLETED, E.REQUEST_DENIED, E.PROPAGATION_OVERDUE}
    ),
    FAILURES.base_name: frozenset({E.REQUEST_FAILED}),
    DEADLINES.base_name: frozenset({E.DEADLINE_APPROACHING, E.DEADLINE_MISSED}),
    OPERATOR_ACTIONS.base_name: frozenset({E.OPERATOR_ACTED}),
    FLOWS_BLOCKED.base_name: frozenset({E.FLOW_BLOCKED}),
}


class TopicNames:
    """Resolves a topic's name under a namespace prefix (tests and shared clusters get their own)."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace

    def __call__(self, spec: TopicSpec) -> str:
        return f"{self.namespace}{spec.base_name}"


def ensure_topics(
    admin: AdminClient,
    names: TopicNames,
    partitions: int,
    replication_factor: int,
    specs: tuple[TopicSpec, ...] = ALL_TOPICS,
) -> list[str]:
    """Create the missing topics; existing ones are left as they are. Returns the names created."""
    existing = set(admin.list_topics(timeout=15).topics)
    min_isr = max(1, replication_factor - 1)
    wanted = [
        NewTopic(
            names(spec),
            num_partitions=partitions,
            replication_factor=replication_factor,
            config=spec.config(min_isr),
        )
        for spec in specs
        if names(spec) not in existing
    ]
    if not wanted:
        return []
    created = _create(admin, wanted)
    _wait_visible(admin, [topic.topic for topic in wanted])
    return created


class TopicsNotCreated(RuntimeError):
    """Topics this client needs are missing (or hidden from it) and the broker refused to let it create them."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


_CREATE_REFUSED = frozenset({"TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"})


def _create(admin: AdminClient, wanted: list[NewTopic]) -> list[str]:
    created, refused = [], []
    for name, future in admin.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() in _CREATE_REFUSED:
                refused.append(name)
            elif exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
    if refused:
        raise TopicsNotCreated(sorted(refused))
    return created


def _wait_visible(admin: AdminClient, names: list[str], timeout: float = 30.0) -> None:
    """Creation is acknowledged before every broker knows the topic; consumers subscribing now would miss it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=5).topics
        if all(name in topics and topics[name].partitions and not topics[name].error for name in names):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics not visible in metadata after {timeout:.0f}s: {names}")
