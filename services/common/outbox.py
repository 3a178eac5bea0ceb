"""Transactional outbox: events are written with the state change that causes them, then relayed to Kafka.

A row Kafka can never accept (too large, invalid) is parked in `outbox_parked` with the reason, a RequestFailed
goes on the request's timeline and the rows behind it flow on: one bad row cannot stall the relay.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from confluent_kafka import KafkaError

from services.common import faults
from services.common.contracts import NOT_ON_A_TOPIC, is_subject_key
from services.common.db import UtcDateTime
from services.common.event_types import EventType
from services.common.events import Event
from services.common.kafka import DeliveryFailed, EventProducer, OutgoingMessage, event_message, unpublishable
from services.common.metrics import OUTBOX_PARKED, OUTBOX_PENDING, OUTBOX_PUBLISHED
from services.common.payloads.requests import RequestFailedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import FAILURES, TopicNames

log = logging.getLogger(__name__)

PARKED_TABLE = "outbox_parked"


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The outbox, and beside it in the same metadata the table its unpublishable rows are parked in."""
    _message_table(PARKED_TABLE, metadata, sa.Column("parked_at", UtcDateTime(), nullable=False),
                   sa.Column("reason", sa.String(200), nullable=False))  # fmt: skip
    return _message_table("outbox", metadata)


def _message_table(name: str, metadata: sa.MetaData, *extra: sa.Column[object]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("message_key", sa.LargeBinary, nullable=True),
        sa.Column("message_value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        *extra,
    )


class Outbox:
    """Writes events into the outbox inside the caller's transaction."""

    def __init__(self, table: sa.Table, codec: SingleObjectCodec) -> None:
        self.table = table
        self.codec = codec

    def add(self, conn: sa.Connection, topic: str, events: Sequence[Event]) -> None:
        rows = [self._row(event_message(topic, event, self.codec)) for event in events]
        if rows:
            conn.execute(sa.insert(self.table), rows)

    def _row(self, message: OutgoingMessage) -> dict[str, object]:
        headers = [[name, value.decode()] for name, value in message.headers]
        return {
            "topic": message.topic,
            "message_key": message.key,
            "message_value": message.value,
            "headers": headers,
            "created_at": datetime.now(UTC),
        }


class OutboxRelay:
    """Publishes outbox rows in id order, deleting them only once Kafka acknowledged every one; parks a row Kafka
    can never accept, with a RequestFailed on the failures topic, so the rows behind it still go out."""

    def __init__(self, engine: sa.Engine, table: sa.Table, producer: EventProducer, codec: SingleObjectCodec,
                 topics: TopicNames, producer_name: str, batch_size: int = 500) -> None:  # fmt: skip
        self.engine = engine
        self.table = table
        self.parked = table.metadata.tables[PARKED_TABLE]
        self.producer = producer
        self.codec = codec
        self.failures_topic = topics(FAILURES)
        self.producer_name = producer_name
        self.batch_size = batch_size
        self.wakeup = threading.Event()
        self.last_loop_at = datetime.now(UTC)
        # Counted when Prometheus scrapes, not on the publishing path: a growing backlog means the relay is stuck.
        OUTBOX_PENDING.set_function(_nan_while_unreachable(self.pending_count))
        OUTBOX_PARKED.set_function(_nan_while_unreachable(self.parked_count))

    def publish_pending(self) -> int:
        """Publish one batch; the number of rows it settled (published or parked). Raises DeliveryFailed when Kafka
        did not take some rows for a reason that may pass: they stay pending, in order, and are sent again."""
        with self.engine.begin() as conn:
            rows = conn.execute(self._pending_query()).all()
            if not rows:
                return 0
            faults.crash_if("outbox.before_publish")
            outcomes = self.producer.deliver([self._message(row) for row in rows])
            faults.crash_if("outbox.after_publish")
            answered = list(zip(rows, outcomes, strict=True))
            refused = [(row, error) for row, error in answered if error is not None and unpublishable(error)]
            passing = [error for error in outcomes if error and not unpublishable(error)]
            if refused:
                # Committed even when other rows must be sent again: the next attempt must not meet this row again.
                self._park(conn, refused)
            if not passing:
                conn.execute(sa.delete(self.table).where(self.table.c.id.in_([row.id for row in rows])))
        if passing:
            raise DeliveryFailed(f"delivery to Kafka failed: {passing[0].str()}")
        OUTBOX_PUBLISHED.inc(len(rows) - len(refused))
        return len(rows)

    def _park(self, conn: sa.Connection, refused: list[tuple[sa.Row[Any], KafkaError]]) -> None:
        now = datetime.now(UTC)
        conn.execute(sa.insert(self.parked), [{**row._asdict(), "parked_at": now, "reason": error.name()[:200]}
                                              for row, error in refused])  # fmt: skip
        conn.execute(sa.delete(self.table).where(self.table.c.id.in_([row.id for row, _ in refused])))
        self.producer.send_all([self._failure(row, error) for row, error in refused])
        for row, error in refused:
            log.error("outbox row can never be published; parked", extra={
                "outbox_id": row.id, "topic": row.topic, "reason": error.name(), "bytes": len(row.message_value),
                "event_type": _header(row, "event_type"), "request_id": _header(row, "request_id")})  # fmt: skip

    def _failure(self, row: sa.Row[Any], error: KafkaError) -> OutgoingMessage:
        """A RequestFailed for the parked row's request, built from its key and headers (the value is not read)."""
        failed = Event(
            event_type=EventType.REQUEST_FAILED,
            subject_key=_subject_key(row),
            producer=self.producer_name,
            request_id=_header(row, "request_id"),
            payload=RequestFailedPayload(
                failed_event_id=_header(row, "event_id"),
                failed_event_type=_header(row, "event_type"),
                source_topic=row.topic,
                source_partition=NOT_ON_A_TOPIC,
                source_offset=NOT_ON_A_TOPIC,
                consumer_group=f"{self.producer_name}-outbox",
                error_class="Unpublishable",
                error=f"Kafka refused the event ({error.name()}, {len(row.message_value)} bytes); it was parked "
                f"in {PARKED_TABLE} row {row.id} and not published",
                attempts=1,
            ),
        )
        return event_message(self.failures_topic, failed, self.codec)

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

    def parked_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.parked)).scalar_one())

    def run(self, stop: threading.Event, idle_wait: float = 0.25) -> None:
        while not stop.is_set():
            self.last_loop_at = datetime.now(UTC)
            try:
                published = self.publish_pending()
            except Exception:
                log.exception("outbox relay failed; rows stay pending and will be retried")
                stop.wait(1.0)
                continue
            if not published:
                self.wakeup.wait(idle_wait)
                self.wakeup.clear()

    def _pending_query(self) -> sa.Select[tuple[object, ...]]:
        # SKIP LOCKED lets several relay replicas share the table on PostgreSQL; SQLite ignores it (one writer).
        return sa.select(self.table).order_by(self.table.c.id).limit(self.batch_size).with_for_update(skip_locked=True)

    @staticmethod
    def _message(row: sa.Row[Any]) -> OutgoingMessage:
        headers = [(str(name), str(value).encode()) for name, value in row.headers]
        return OutgoingMessage(row.topic, row.message_key, row.message_value, headers)


def _nan_while_unreachable(count: Callable[[], int]) -> Callable[[], float]:
    """A scrape while the database is away reports NaN for the count instead of failing the whole /metrics page."""

    def read() -> float:
        try:
            return float(count())
        except sa.exc.SQLAlchemyError:
            return math.nan

    return read


def _subject_key(row: sa.Row[Any]) -> str:
    key = row.message_key.decode(errors="replace") if row.message_key else ""
    return key if is_subject_key(key) else "unknown"


def _header(row: sa.Row[Any], name: str) -> str | None:
    return next((str(value) for key, value in row.headers if key == name), None)
