"""Composition root of audit: the timeline consumer over every pipeline topic."""

from __future__ import annotations

from dataclasses import dataclass

from services.audit import handlers, orm
from services.audit.migrations import SCHEMA
from services.audit.settings import AuditSettings
from services.common.consumer import ConsumerRunner
from services.common.runtime import ServiceRuntime
from services.common.topics import ALL_TOPICS, DLQ, TopicNames

AUDITED_TOPICS = tuple(spec for spec in ALL_TOPICS if spec is not DLQ)


def audited_topic_names(names: TopicNames) -> list[str]:
    return [names(spec) for spec in AUDITED_TOPICS]


@dataclass
class Audit:
    runtime: ServiceRuntime
    consumer: ConsumerRunner

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("timeline-consumer", self.consumer.run, lambda: self.consumer.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()


def bootstrap(settings: AuditSettings) -> Audit:
    runtime = ServiceRuntime(settings, "audit", SCHEMA)
    # Every event becomes a timeline entry, so audit checks the content of every event type.
    consumer = runtime.consumer(settings.consumer_group, AUDITED_TOPICS, orm.inbox, handlers.ROUTES)
    return Audit(runtime, consumer)
