"""The local infrastructure really runs: Kafka round trip, PostgreSQL, MariaDB, Redis and a 3-broker cluster."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType  # type: ignore[attr-defined]

from devtools.localstack import LocalStackError, MariaDBServer, RedisServer
from devtools.localstack.ports import pid_alive
from tests.infra import KafkaClusterFactory, TopicFactory, create_topic
from tests.support import sql_store_url

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, values: list[bytes], **config: str) -> None:
    """Produce `values` and fail unless every one is acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, **config})
    failures: list[KafkaError] = []

    def record_failure(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    for value in values:
        producer.produce(topic, value=value, key=b"subject-key", on_delivery=record_failure)
    assert producer.flush(30) == 0, "messages left unsent after 30 s"
    assert failures == []


def _consume(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[bytes]:
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
    })  # fmt: skip
    consumer.subscribe([topic])
    received: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            value = message.value() if message is not None and message.error() is None else None
            if value is not None:
                received.append(value)
    finally:
        consumer.close()
    return received


def test_kafka_round_trip(kafka_bootstrap: str, topic_factory: TopicFactory) -> None:
    topic = topic_factory("roundtrip", partitions=3)
    values = [f"event-{i}".encode() for i in range(20)]

    _produce(kafka_bootstrap, topic, values)

    assert sorted(_consume(kafka_bootstrap, topic, len(values))) == sorted(values)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_database_fixtures_give_a_fresh_database_that_keeps_any_text(request: pytest.FixtureRequest,
                                                                      backend: str) -> None:  # fmt: skip
    engine = sa.create_engine(sql_store_url(request, backend, None))
    current = "current_database()" if backend == "postgresql" else "DATABASE()"
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE subject (subject_key VARCHAR(64) PRIMARY KEY, name TEXT)"))
            connection.execute(sa.text("INSERT INTO subject VALUES ('sk-1', 'Zoë 🙂')"))
        with engine.connect() as connection:
            name = connection.execute(sa.text("SELECT name FROM subject WHERE subject_key = 'sk-1'")).scalar_one()
            database = connection.execute(sa.text(f"SELECT {current}")).scalar_one()
    finally:
        engine.dispose()
    assert name == "Zoë 🙂"  # four-byte characters survive: UTF-8, and utf8mb4 on MariaDB
    assert database.startswith("test_")


def test_mariadb_server_starts_again_on_its_data_and_stops_by_pid() -> None:
    base_dir = Path(tempfile.mkdtemp(prefix="ccpa-mdb-"))
    server = MariaDBServer(base_dir)
    try:
        server.start()
        url = server.create_database("kept")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (id INT PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO t VALUES (7)"))
        engine.dispose()
        pid = server.pid()
        assert pid is not None
        server.stop()
        assert not pid_alive(pid) and server.pid() is None

        server.start()  # the same data folder and password: the table is still there
        engine = sa.create_engine(server.url("kept"))
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT id FROM t")).scalar_one() == 7
        engine.dispose()
        with pytest.raises(LocalStackError, match="must match"):
            server.create_database("kept; DROP DATABASE mysql")
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


def test_redis_set_get(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("subject:sk-1", "cached", ex=60)
        assert client.get("subject:sk-1") == b"cached"
    finally:
        client.close()


def test_a_persistent_redis_keeps_its_keys_across_a_restart_and_forgets_deleted_ones(tmp_path: Path) -> None:
    """The local stack's session cache: a restart must not lose the demo's sessions, nor bring back erased ones."""
    server = RedisServer(tmp_path / "redis", persistent=True)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("session:kept", "1")
        client.set("session:erased", "1")
        client.delete("session:erased")
        client.close()
        server.stop()
        server.start()
        client = redis.Redis.from_url(server.url)
        assert client.get("session:kept") == b"1" and not client.exists("session:erased")
        client.close()
    finally:
        server.stop()


def _min_insync_replicas(bootstrap: str, topic: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return str(configs["min.insync.replicas"].value)


def _replica_counts(bootstrap: str, topic: str, partitions: int, timeout: float = 30) -> list[int]:
    """Each partition's replica count, once every broker asked knows the topic: a broker that has not yet applied
    the controller's metadata update answers with no partitions (or an unknown-topic error) for a moment."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        described = admin.list_topics(topic=topic, timeout=10).topics[topic]
        counts = [len(partition.replicas) for _, partition in sorted(described.partitions.items())]
        if (described.error is None and len(counts) == partitions) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def test_three_broker_cluster_replicates_and_stops_cleanly(
    kafka_cluster_factory: KafkaClusterFactory,
) -> None:
    cluster = kafka_cluster_factory(brokers=3)
    cluster.start(timeout=60)
    topic = f"replicated-{uuid.uuid4().hex[:12]}"

    create_topic(cluster.bootstrap_servers, topic, partitions=3, replication_factor=3)

    assert _replica_counts(cluster.bootstrap_servers, topic, partitions=3) == [3, 3, 3]
    assert _min_insync_replicas(cluster.bootstrap_servers, topic) == "2"

    cluster.stop_broker(2)
    assert not cluster.is_running()
    _produce(cluster.bootstrap_servers, topic, [b"with-two-in-sync"], acks="all")
    cluster.start_broker(2)
    assert cluster.is_running()

    pids = [pid for pid in cluster.pids().values() if pid is not None]
    assert len(pids) == 3
    cluster.stop()

    assert [pid for pid in pids if pid_alive(pid)] == []
    assert list(Path(cluster.base_dir).glob("node-*/kafka.pid")) == []
