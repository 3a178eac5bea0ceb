"""Floors on the same broker, database and HTTP stack: what the pipeline cannot beat, measured, not assumed.

- Kafka: one message at a time produce -> consumed (acks=all, idempotent), and a bulk produce -> consume.
- PostgreSQL: a single-row INSERT + COMMIT with SQLAlchemy, one after another.
- HTTP: GET /healthz on the running intake (same uvicorn + FastAPI stack, no database, no Kafka).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

TOPIC_READY_TIMEOUT_S = 30.0
MESSAGE_TIMEOUT_S = 10.0


@dataclass
class KafkaFloor:
    round_trips: list[float] = field(default_factory=list)
    bulk_messages: int = 0
    bulk_elapsed: float = 0.0
    timeouts: int = 0

    @property
    def bulk_rate(self) -> float:
        return self.bulk_messages / self.bulk_elapsed if self.bulk_elapsed else 0.0


def producer_config(bootstrap: str, linger_ms: int) -> dict[str, object]:
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": linger_ms,
        "client.id": "bench-floor",
    }


def fresh_topic(bootstrap: str, prefix: str) -> str:
    """A new one-partition topic, waited for until it has a leader."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=-1)], operation_timeout=30)[name].result(
        timeout=30
    )
    deadline = time.monotonic() + TOPIC_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if topic is not None and topic.error is None and all(p.leader >= 0 for p in topic.partitions.values()):
            return name
        time.sleep(0.1)
    raise TimeoutError(f"topic {name} has no leader after {TOPIC_READY_TIMEOUT_S:.0f}s")


def assigned_consumer(bootstrap: str, topic: str) -> Consumer:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    return consumer


def _await_message(consumer: Consumer, deadline: float) -> bool:
    while time.perf_counter() < deadline:
        message = consumer.poll(0.05)
        if message is not None and not message.error():
            return True
    return False


def kafka_round_trips(bootstrap: str, samples: int, warmup: int = 20) -> KafkaFloor:
    """One message at a time: produce (linger 0) -> the consumer has it; the producer flushed in between."""
    result = KafkaFloor()
    topic = fresh_topic(bootstrap, "bench-floor-rtt")
    producer = Producer(producer_config(bootstrap, linger_ms=0))
    consumer = assigned_consumer(bootstrap, topic)
    try:
        for index in range(warmup + samples):
            started = time.perf_counter()
            producer.produce(topic, value=b"x" * 200, key=str(index).encode())
            producer.poll(0)
            arrived = _await_message(consumer, started + MESSAGE_TIMEOUT_S)
            elapsed = time.perf_counter() - started
            producer.flush(MESSAGE_TIMEOUT_S)
            if not arrived:
                result.timeouts += 1
            elif index >= warmup:
                result.round_trips.append(elapsed)
    finally:
        consumer.close()
        producer.flush(MESSAGE_TIMEOUT_S)
    return result


def kafka_bulk(
    bootstrap: str, messages: int, size: int = 200, linger_ms: int = 5, result: KafkaFloor | None = None
) -> KafkaFloor:
    """`messages` small messages produced while a consumer reads them: first produce -> last consumed."""
    result = result or KafkaFloor()
    topic = fresh_topic(bootstrap, "bench-floor-bulk")
    consumer = assigned_consumer(bootstrap, topic)
    consumed = threading.Event()
    deadline = time.monotonic() + 120

    def consume() -> None:
        seen = 0
        while seen < messages and time.monotonic() < deadline:
            seen += sum(1 for m in consumer.consume(1000, timeout=0.05) if not m.error())
        if seen >= messages:
            consumed.set()

    producer = Producer(producer_config(bootstrap, linger_ms))
    reader = threading.Thread(target=consume, name="bench-floor-consumer", daemon=True)
    payload = b"x" * size
    try:
        _await_assignment(consumer)
        reader.start()
        started = time.perf_counter()
        for index in range(messages):
            _produce_with_backpressure(producer, topic, payload, str(index).encode())
        producer.flush(60)
        reader.join(timeout=max(0.0, deadline - time.monotonic()))
        if consumed.is_set():
            result.bulk_messages, result.bulk_elapsed = messages, time.perf_counter() - started
    finally:
        reader.join(timeout=5)
        consumer.close()
    return result


def _await_assignment(consumer: Consumer) -> None:
    """Let the consumer fetch its start offset before the clock starts (a poll with nothing to read yet)."""
    consumer.poll(0.5)


def _produce_with_backpressure(producer: Producer, topic: str, value: bytes, key: bytes) -> None:
    for _ in range(1000):
        try:
            producer.produce(topic, value=value, key=key)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.01)
    raise TimeoutError("producer queue stayed full for 10s")


@dataclass
class CommitFloor:
    commits: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.commits) / self.elapsed if self.elapsed else 0.0


def pg_commits(url: str, samples: int, warmup: int = 20) -> CommitFloor:
    """A single-row INSERT + COMMIT, sequentially, through a pooled SQLAlchemy engine."""
    engine = sa.create_engine(url, pool_size=1)
    table = sa.Table(
        "bench_floor",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("payload", sa.String(200), nullable=False),
    )
    result = CommitFloor()
    try:
        table.create(engine, checkfirst=True)
        for _ in range(warmup):
            _insert(engine, table)
        started = time.perf_counter()
        for _ in range(samples):
            began = time.perf_counter()
            _insert(engine, table)
            result.commits.append(time.perf_counter() - began)
        result.elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    return result


def _insert(engine: sa.Engine, table: sa.Table) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(payload=uuid.uuid4().hex))


def http_round_trips(url: str, samples: int, warmup: int = 20) -> list[float]:
    """Sequential GETs on one keep-alive connection."""
    latencies = []
    with httpx.Client(timeout=10) as client:
        for index in range(warmup + samples):
            started = time.perf_counter()
            client.get(url)
            if index >= warmup:
                latencies.append(time.perf_counter() - started)
    return latencies
