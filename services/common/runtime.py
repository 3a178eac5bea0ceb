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

from services.common.access import SERVICE_PRINCIPALS
from services.common.codec import codec_for
from services.common.consumer import ConsumerRunner, DeadLetterTopics, Routes
from services.common.db import make_engine, ping
from services.common.kafka import EventProducer
from services.common.migrations import Schema, upgrade
from services.common.outbox import OutboxRelay
from services.common.permissions import DOC as PERMISSIONS_DOC
from services.common.permissions import StartupRefused, check_permissions
from services.common.roles import Role, resolve_role
from services.common.settings import CommonSettings
from services.common.topics import ALL_TOPICS, DLQ, FAILURES, TopicNames, TopicsNotCreated, TopicSpec, ensure_topics

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)


class TopicsMissing(StartupRefused):
    """Topics the service needs are missing and it may not create them."""


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
        # Which loops start_worker starts: `ccpa serve --role` has put the role in CCPA_SERVICE_ROLE (serve.py).
        self.role: Role = resolve_role(None)

    def prepare(self, wait_seconds: float = 60.0) -> None:
        """Pre-start: wait for the broker and the database, migrate the database, create the topics this service
        uses (those missing, when its principal may) and check its principal has the rights access.py gives it."""
        self._wait_until(lambda: ping(self.engine), "database", wait_seconds)
        self._wait_until(self._broker_answers, "Kafka", wait_seconds)
        upgrade(self.schema, self.engine)
        principal = SERVICE_PRINCIPALS.get(self.service)
        self._ensure_own_topics(principal.topics() if principal else ALL_TOPICS)
        if principal is not None:
            group_id: str | None = getattr(self.settings, "consumer_group", None)
            user = self.settings.kafka_config().get("sasl.username")
            check_permissions(self.admin, self.service, principal, self.topics, group_id, user)
        self.codec.prepare(self.topics)  # with a schema registry: registers the schemas, refusals stop here

    def _ensure_own_topics(self, specs: tuple[TopicSpec, ...]) -> None:
        """Create the topics this service uses that are missing; a principal without Create gets a clear refusal.

        Only its own: on a secured cluster a principal sees (Describe) only the topics its ACLs name.
        """
        settings = self.settings
        try:
            ensure_topics(self.admin, self.topics, settings.topic_partitions, settings.topic_replication_factor, specs)
        except TopicsNotCreated as refused:
            raise TopicsMissing(
                f"{self.service} cannot start: topic(s) {refused} do not exist (or its Kafka principal may not "
                f"Describe them) and it may not create them: an operator must create them ({PERMISSIONS_DOC})"
            ) from None

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
        side: Role = Role.WORKER,
    ) -> None:
        """Start a background loop, unless this process's role leaves its side (WORKER or HTTP) to other replicas;
        a loop not started is not listed either, so /healthz never reports it as dead."""
        if not self.role.runs(side):
            log.info("not started in this role", extra={"worker": name, "role": self.role.value})
            return
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
