"""Transactional outbox: events are written with the state change that causes them, then relayed to Kafka."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from services.common import faults
from services.common.db import UtcDateTime
from services.common.events import Event
from services.common.kafka import EventProducer, OutgoingMessage, event_message
from services.common.metrics import OUTBOX_PENDING, OUTBOX_PUBLISHED
from services.common.serde import SingleObjectCodec

log = logging.getLogger(__name__)


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("message_key", sa.LargeBinary, nullable=True),
        sa.Column("message_value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
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
    """Publishes outbox rows in id order, deleting them only once Kafka acknowledged every one."""

    def __init__(self, engine: sa.Engine, table: sa.Table, producer: EventProducer, batch_size: int = 500) -> None:
        self.engine = engine
        self.table = table
        self.producer = producer
        self.batch_size = batch_size
        self.wakeup = threading.Event()
        self.last_loop_at = datetime.now(UTC)
        # Counted when Prometheus scrapes, not on the publishing path: a growing backlog means the relay is stuck.
        OUTBOX_PENDING.set_function(self.pending_count)

    def publish_pending(self) -> int:
        with self.engine.begin() as conn:
            rows = conn.execute(self._pending_query()).all()
            if not rows:
                return 0
            faults.crash_if("outbox.before_publish")
            self.producer.send_all([self._message(row) for row in rows])
            faults.crash_if("outbox.after_publish")
            conn.execute(sa.delete(self.table).where(self.table.c.id.in_([row.id for row in rows])))
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

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
    def _message(row: sa.Row[tuple[object, ...]]) -> OutgoingMessage:
        headers = [(str(name), str(value).encode()) for name, value in row.headers]
        return OutgoingMessage(row.topic, row.message_key, row.message_value, headers)
