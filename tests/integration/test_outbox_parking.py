"""A row Kafka can never accept is parked, reported on the failures topic and as a metric; the rows behind it flow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from prometheus_client import REGISTRY

from services.common.kafka import EventProducer
from services.common.outbox import PARKED_TABLE, OutboxRelay, outbox_table
from services.common.serde import SingleObjectCodec
from services.common.topics import FAILURES, REQUESTS, TopicNames, ensure_topics
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration

TOO_LARGE = 2_000_000  # over librdkafka's message.max.bytes (1,000,000) and the broker's default


@pytest.fixture
def topics() -> TopicNames:
    return TopicNames(f"t{uuid.uuid4().hex[:10]}.")


@pytest.fixture
def relay(kafka_bootstrap: str, topics: TopicNames, tmp_path: Path) -> Iterator[OutboxRelay]:
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topics, 1, 1)
    metadata = sa.MetaData()
    table = outbox_table(metadata)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/outbox.db")
    metadata.create_all(engine)
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "test-outbox")
    yield OutboxRelay(engine, table, producer, SingleObjectCodec(), topics, "intake")
    producer.close()
    engine.dispose()


def queue(relay: OutboxRelay, topic: str, value: bytes, request_id: str) -> None:
    headers = [["event_type", "RequestSubmitted"], ["event_id", str(uuid.uuid4())], ["request_id", request_id]]
    with relay.engine.begin() as conn:
        conn.execute(sa.insert(relay.table).values(topic=topic, message_key=b"subject-key-1", message_value=value,
                                                   headers=headers, created_at=datetime.now(UTC)))  # fmt: skip


def test_an_unpublishable_row_is_parked_and_the_rows_behind_it_are_published(
    relay: OutboxRelay, topics: TopicNames, kafka_bootstrap: str
) -> None:
    blocked, behind = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(3)]
    queue(relay, topics(REQUESTS), b"x" * TOO_LARGE, blocked)
    for request_id in behind:
        queue(relay, topics(REQUESTS), b"small event", request_id)

    wait_for(lambda: relay.publish_pending() == 0 and relay.pending_count() == 0, timeout=30, what="outbox drained")

    published = [dict(m.headers() or [])["request_id"].decode() for m in read_topic(kafka_bootstrap, topics(REQUESTS))]
    assert published == behind
    with relay.engine.connect() as conn:
        parked = conn.execute(sa.select(relay.table.metadata.tables[PARKED_TABLE])).all()
    assert [(dict(row.headers)["request_id"], row.reason, len(row.message_value)) for row in parked] == [
        (blocked, "MSG_SIZE_TOO_LARGE", TOO_LARGE)
    ]
    failures = [relay.codec.decode(m.value()) for m in read_topic(kafka_bootstrap, topics(FAILURES))]
    reported = [(f.event_type, f.request_id, f.payload.failed_event_type, f.payload.error_class)
                for f in failures]  # fmt: skip
    assert reported == [("RequestFailed", blocked, "RequestSubmitted", "Unpublishable")]
    assert "MSG_SIZE_TOO_LARGE" in failures[0].payload.error
    assert REGISTRY.get_sample_value("ccpa_outbox_parked") == 1
