"""Rebuild the audit database from the topics alone: restore the compacted snapshot (the 24 months the 400-day event
topics no longer hold), read every audited partition from its beginning to its end, purge what is past retention,
then sign one checkpoint of the chain heads (the same heads the live audit reached: chain order is topic order)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from services.audit import checkpoints, handlers, orm, snapshots
from services.audit.bootstrap import audited_topic_names
from services.audit.migrations import SCHEMA
from services.audit.settings import AuditSettings
from services.audit.snapshotter import purge_and_forget
from services.common import contracts
from services.common.codec import codec_for
from services.common.consumer import Delivery
from services.common.db import make_engine
from services.common.inbox import claim
from services.common.kafka import EventProducer
from services.common.migrations import upgrade
from services.common.serde import DecodeError, SingleObjectCodec
from services.common.topics import AUDIT_SNAPSHOTS, TopicNames

log = logging.getLogger(__name__)
REBUILD_CONSUMER = "audit-rebuild"


def rebuild(settings: AuditSettings, now: datetime | None = None) -> int:
    """Restore the snapshot, then apply every event on the audited topics to settings.database_url, then purge what
    is past retention at `now`; returns the entries restored and events applied."""
    now = now or datetime.now(UTC)
    names = TopicNames(settings.topic_namespace)
    engine = make_engine(settings.database_url)
    upgrade(SCHEMA, engine)
    consumer = Consumer(
        {
            **settings.kafka_config(),
            "group.id": f"ccpa-audit-rebuild-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    codec = codec_for(settings.schema_registry_config())  # the topics may hold the registry's wire format
    producer = EventProducer(settings.kafka_config(), client_id="ccpa-audit-rebuild")
    try:
        applied = _restore_snapshots(engine, consumer, names(AUDIT_SNAPSHOTS))
        for message in _read_to_end(consumer, _partitions_with_data(consumer, audited_topic_names(names))):
            applied += _apply(engine, codec, message, Delivery.of(message))
        purge_and_forget(engine, producer, names(AUDIT_SNAPSHOTS), settings.signing_key(), now, settings.retention_days)
        with engine.begin() as conn:
            checkpoints.take(conn, settings.signing_key(), datetime.now(UTC))
    finally:
        producer.close()
        consumer.close()
        engine.dispose()
    return applied


def _restore_snapshots(engine: sa.Engine, consumer: Consumer, topic: str) -> int:
    """Read the snapshot topic to its end (the last value of each key wins, a tombstone forgets it), then restore
    every value's rows as they were; returns the entries restored."""
    latest: dict[bytes | None, bytes | None] = {}
    for message in _read_to_end(consumer, _partitions_with_data(consumer, [topic])):
        latest[message.key()] = message.value()
    restored, marks = 0, []
    with engine.begin() as conn:
        for value in latest.values():
            if value is not None:
                snapshot = snapshots.Snapshot.model_validate_json(value)
                restored += snapshots.restore(conn, snapshot, REBUILD_CONSUMER)
                marks.append((snapshot.key, snapshot.digest))
        snapshots.mark_published(conn, marks, datetime.now(UTC))
    return restored


def _read_to_end(consumer: Consumer, remaining: dict[tuple[str, int], int]) -> Iterator[Message]:
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in remaining])
    while remaining:
        messages = consumer.consume(num_messages=1000, timeout=1.0)
        for message in messages:
            if message.error():
                continue
            yield message
            where = Delivery.of(message)
            if where.offset + 1 >= remaining.get((where.topic, where.partition), 0):
                remaining.pop((where.topic, where.partition), None)
        if not messages:  # compaction may have removed a partition's last offsets: its position tells
            for position in consumer.position([TopicPartition(t, p) for t, p in remaining]):
                if position.offset >= remaining[(position.topic, position.partition)]:
                    remaining.pop((position.topic, position.partition))
    consumer.unassign()


def _partitions_with_data(consumer: Consumer, topics: list[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> high watermark, for partitions that hold at least one message."""
    metadata = consumer.list_topics(timeout=15)
    ends = {}
    for topic in topics:
        for partition in metadata.topics[topic].partitions if topic in metadata.topics else {}:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            if high > low:
                ends[(topic, partition)] = high
    return ends


def _apply(engine: sa.Engine, codec: SingleObjectCodec, message: Message, where: Delivery) -> int:
    try:
        event = codec.decode(message.value())
        contracts.check(event)
    except (DecodeError, contracts.ContractBreach):
        # Dead-lettered when it first arrived; its RequestFailed event is on the failures topic and replays.
        return 0
    with engine.begin() as conn:
        if claim(conn, orm.inbox, REBUILD_CONSUMER, event.event_id):
            handlers.handle(event, conn, where)
            return 1
    return 0
