"""Rebuild the audit database from the topics alone: read every audited partition from its beginning to its end,
then sign one checkpoint of the chain heads (the same heads the live audit reached: chain order is topic order)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from services.audit import checkpoints, handlers, orm
from services.audit.bootstrap import audited_topic_names
from services.audit.migrations import SCHEMA
from services.audit.settings import AuditSettings
from services.common import contracts
from services.common.consumer import Delivery
from services.common.db import make_engine
from services.common.inbox import claim
from services.common.migrations import upgrade
from services.common.serde import DecodeError, SingleObjectCodec
from services.common.topics import TopicNames

log = logging.getLogger(__name__)
REBUILD_CONSUMER = "audit-rebuild"


def rebuild(settings: AuditSettings) -> int:
    """Apply every event on the audited topics to settings.database_url; returns the events applied."""
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
    codec, applied = SingleObjectCodec(), 0
    try:
        remaining = _partitions_with_data(consumer, audited_topic_names(TopicNames(settings.topic_namespace)))
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in remaining])
        while remaining:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error():
                    continue
                where = Delivery.of(message)
                applied += _apply(engine, codec, message, where)
                if where.offset + 1 >= remaining.get((where.topic, where.partition), 0):
                    remaining.pop((where.topic, where.partition), None)
        with engine.begin() as conn:
            checkpoints.take(conn, settings.signing_key(), datetime.now(UTC))
    finally:
        consumer.close()
        engine.dispose()
    return applied


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
