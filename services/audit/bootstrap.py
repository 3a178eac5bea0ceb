"""Composition root of audit: the timeline consumer over every pipeline topic, the chain's checkpointer, and the
snapshotter keeping the compacted snapshot and the retention purge, and the deadline watch with the relay of its
outbox."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import checkpoints, handlers, orm
from services.audit.migrations import SCHEMA
from services.audit.settings import AuditSettings
from services.audit.snapshotter import Snapshotter
from services.audit.watch import DeadlineWatch
from services.common.consumer import ConsumerRunner
from services.common.outbox import Outbox, OutboxRelay
from services.common.runtime import ServiceRuntime
from services.common.topics import ALL_TOPICS, AUDIT_SNAPSHOTS, DEADLINES, DLQ, TopicNames

log = logging.getLogger(__name__)
# Not the DLQ (raw bytes) and not audit's own snapshots (they hold entries, not events).
AUDITED_TOPICS = tuple(spec for spec in ALL_TOPICS if spec not in (DLQ, AUDIT_SNAPSHOTS))


def audited_topic_names(names: TopicNames) -> list[str]:
    return [names(spec) for spec in AUDITED_TOPICS]


@dataclass
class Checkpointer:
    """Signs the chain heads every `every` seconds, when they moved."""

    runtime: ServiceRuntime
    key: Ed25519PrivateKey
    every: float
    last_loop_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.checkpoint()
            self.last_loop_at = datetime.now(UTC)

    def checkpoint(self) -> None:
        try:
            with self.runtime.engine.begin() as conn:
                checkpoints.take(conn, self.key, datetime.now(UTC))
        except sa.exc.IntegrityError:
            log.info("another audit process signed this checkpoint first; the next round signs after it")
        except sa.exc.OperationalError as exc:  # the database away for a moment: the next round tries again
            log.warning("no checkpoint this round", extra={"error_class": type(exc).__name__})


@dataclass
class Audit:
    runtime: ServiceRuntime
    consumer: ConsumerRunner
    checkpointer: Checkpointer
    snapshotter: Snapshotter
    watch: DeadlineWatch
    relay: OutboxRelay

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("timeline-consumer", self.consumer.run, lambda: self.consumer.last_loop_at)
        self.runtime.start_worker("chain-checkpointer", self.checkpointer.run, lambda: self.checkpointer.last_loop_at,
                                  timedelta(seconds=3 * self.checkpointer.every + 30))  # fmt: skip
        self.runtime.start_worker("snapshotter", self.snapshotter.run, lambda: self.snapshotter.last_loop_at,
                                  timedelta(seconds=3 * self.snapshotter.every + 300))  # fmt: skip
        self.runtime.start_worker("deadline-watch", self.watch.run, lambda: self.watch.last_loop_at,
                                  timedelta(seconds=3 * self.watch.every + 30))  # fmt: skip
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()


def bootstrap(settings: AuditSettings) -> Audit:
    runtime = ServiceRuntime(settings, "audit", SCHEMA)
    # Every event becomes a timeline entry, so audit checks the content of every event type.
    consumer = runtime.consumer(settings.consumer_group, AUDITED_TOPICS, orm.inbox, handlers.ROUTES)
    snapshotter = Snapshotter(runtime.engine, runtime.producer, runtime.topics(AUDIT_SNAPSHOTS), settings.signing_key(),
                              settings.snapshot_seconds, settings.retention_days)  # fmt: skip
    checkpointer = Checkpointer(runtime, settings.signing_key(), settings.checkpoint_seconds)
    relay = runtime.outbox_relay(orm.outbox)
    watch = DeadlineWatch(runtime.engine, Outbox(orm.outbox, runtime.codec), runtime.topics(DEADLINES),
                          timedelta(days=settings.deadline_lead_days), settings.watch_seconds,
                          timedelta(days=settings.watch_clock_skew_days), wakeup=relay.wakeup,
                          ready=consumer.caught_up)  # fmt: skip
    return Audit(runtime, consumer, checkpointer, snapshotter, watch, relay)
