"""Shared service runtime: DB engine, codec, producer, topic names, background workers, health and readiness."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from confluent_kafka.admin import AdminClient

from services.common.consumer import ConsumerRunner, DeadLetterTopics, Routes
from services.common.db import make_engine, ping
from services.common.kafka import EventProducer
from services.common.migrations import Schema, upgrade
from services.common.outbox import OutboxRelay
from services.common.registry import codec_for
from services.common.settings import CommonSettings
from services.common.topics import DLQ, FAILURES, TopicNames, TopicSpec, ensure_topics

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)


@dataclass
class Worker:
    name: str
    thread: threading.Thread
    last_loop_at: Callable[[], datetime]
    stale_after: timedelta = STALE_AFTER

    def alive(self) -> bool:
        """The thread runs and its loop turned within its window (a loop that sleeps long has a longer window)."""
        return self.thread.is_alive() and datetime.now(UTC) - self.last_loop_at() < self.stale_after


class ServiceRuntime:
    """Everything a service process shares; created once by the entrypoint, closed on shutdown."""

    def __init__(self, settings: CommonSettings, service: str, schema: Schema) -> None:
        self.settings = settings
        self.service = service
        self.schema = schema
        self.engine = make_engine(settings.database_url, settings.database_pool())
        self.codec = codec_for(settings.schema_registry_config())
        self.topics = TopicNames(settings.topic_namespace)
        self.producer = EventProducer(settings.kafka_config(), client_id=f"ccpa-{service}")
        self.admin = AdminClient(settings.kafka_config())
        self.stop_event = threading.Event()
        self.workers: list[Worker] = []

    def prepare(self, wait_seconds: float = 60.0) -> None:
        """Pre-start: wait for the broker and the database, then migrate the database and create the topics."""
        self._wait_until(lambda: ping(self.engine), "database", wait_seconds)
        self._wait_until(self._broker_answers, "Kafka", wait_seconds)
        upgrade(self.schema, self.engine)
        ensure_topics(self.admin, self.topics, self.settings.topic_partitions, self.settings.topic_replication_factor)
        self.codec.prepare(self.topics)  # with a schema registry: registers the schemas, refusals stop here

    def consumer(
        self,
        group_id: str,
        topics: tuple[TopicSpec, ...],
        inbox: sa.Table,
        routes: Routes,
        after_commit: Callable[[], None] | None = None,
    ) -> ConsumerRunner:
        """A consumer group member with the runtime's broker, database, codec and dead-letter topics.

        The routing table is the event types the service acts on (their contracts are checked) and their handlers.
        """
        return ConsumerRunner(
            group_id=group_id,
            topics=[self.topics(spec) for spec in topics],
            kafka_config=self.settings.kafka_config(),
            engine=self.engine,
            inbox=inbox,
            routes=routes,
            codec=self.codec,
            producer=self.producer,
            dead_letters=DeadLetterTopics(self.topics(DLQ), self.topics(FAILURES)),
            after_commit=after_commit,
        )

    def outbox_relay(self, outbox: sa.Table) -> OutboxRelay:
        """The relay of this service's outbox: its rows go out on this runtime's producer, failures as its own."""
        return OutboxRelay(self.engine, outbox, self.producer, self.codec, self.topics, self.service)

    def start_worker(
        self,
        name: str,
        run: Callable[[threading.Event], None],
        last_loop_at: Callable[[], datetime],
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        thread = threading.Thread(target=self._guard(name, run), name=name, daemon=True)
        self.workers.append(Worker(name, thread, last_loop_at, stale_after))
        thread.start()

    def shutdown(self, timeout: float = 20.0) -> None:
        self.stop_event.set()
        for worker in self.workers:
            worker.thread.join(timeout)
        self.producer.close()
        self.engine.dispose()

    def liveness(self) -> dict[str, bool]:
        return {worker.name: worker.alive() for worker in self.workers}

    def readiness(self) -> dict[str, bool]:
        return {"database": _succeeds(lambda: ping(self.engine)), "kafka": _succeeds(self._broker_answers)}

    def _broker_answers(self) -> None:
        self.admin.list_topics(timeout=3)

    def _guard(self, name: str, run: Callable[[threading.Event], None]) -> Callable[[], None]:
        def target() -> None:
            try:
                run(self.stop_event)
            except Exception:
                log.exception("worker crashed", extra={"worker": name})

        return target

    def _wait_until(self, check: Callable[[], None], what: str, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                check()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.service}: {what} not reachable after {wait_seconds:.0f}s") from exc
                time.sleep(0.5)


def _succeeds(check: Callable[[], None]) -> bool:
    try:
        check()
        return True
    except Exception:
        return False
