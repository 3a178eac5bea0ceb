"""Session fixtures for real infrastructure: Kafka, PostgreSQL, MariaDB and Redis on loopback (DESIGN.md §7).

Loaded by tests/conftest.py with `pytest_plugins = ["tests.infra"]`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from devtools.localstack import (
    DatabaseServer,
    ExistingMariaDB,
    ExistingPostgres,
    KafkaCluster,
    MailServer,
    MariaDBServer,
    PostgresServer,
    RedisServer,
    free_port_block,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_CACHE = REPO_ROOT / ".local" / "cache"
SESSION_BROKER_HEAP = "768m"

TopicFactory = Callable[..., str]
KafkaClusterFactory = Callable[..., KafkaCluster]


def docker_engine_available() -> bool:
    """Whether a Docker engine answers `docker info` within a few seconds."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _testcontainers_kafka() -> Iterator[str]:
    # Imported only where a Docker engine runs; newer testcontainers moved the module.
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:
        from testcontainers.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as container:
        yield container.get_bootstrap_server()


def _local_kafka(base_dir: Path) -> Iterator[str]:
    # The session broker holds every test's topics (thousands of partitions by the end of the suite), not one
    # pipeline's: the laptop default heap (256m) ran out of memory in the suite. CCPA_KAFKA_HEAP still overrides.
    heap = os.environ.get("CCPA_KAFKA_HEAP", SESSION_BROKER_HEAP)
    cluster = KafkaCluster(base_dir, brokers=1, port=free_port_block(1), cache_dir=LOCAL_CACHE, heap=heap)
    cluster.start()
    try:
        yield cluster.bootstrap_servers
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker: $KAFKA_BOOTSTRAP_SERVERS, testcontainers, or a local one."""
    if external := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield external
    elif docker_engine_available():
        yield from _testcontainers_kafka()
    else:
        yield from _local_kafka(tmp_path_factory.mktemp("kafka"))


@pytest.fixture
def kafka_cluster_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaClusterFactory]:
    """Builds (does not start) extra local clusters on free ports, e.g. 3 brokers; stops them after."""
    clusters: list[KafkaCluster] = []

    def build(brokers: int = 1, **options: Any) -> KafkaCluster:
        base_dir = tmp_path_factory.mktemp(f"kafka{brokers}x")
        cluster = KafkaCluster(
            base_dir, brokers=brokers, port=free_port_block(brokers), cache_dir=LOCAL_CACHE, **options
        )
        clusters.append(cluster)
        return cluster

    yield build
    for cluster in clusters:
        cluster.stop()


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    replication_factor: int = -1,
    config: dict[str, str] | None = None,
    timeout: float = 30,
) -> None:
    """Create topic `name` (replication -1 = broker default) and wait until every partition has a leader."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=config or {})
    admin.create_topics([topic], operation_timeout=timeout)[name].result(timeout=timeout)
    deadline = time.monotonic() + timeout
    while not _topic_ready(admin, name, partitions):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} not ready with {partitions} led partitions after {timeout}s")
        time.sleep(0.1)


def _topic_ready(admin: AdminClient, name: str, partitions: int) -> bool:
    try:
        topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
    except KafkaException:
        return False
    if topic is None or topic.error is not None or len(topic.partitions) != partitions:
        return False
    return all(partition.leader >= 0 for partition in topic.partitions.values())


@pytest.fixture
def topic_factory(kafka_bootstrap: str) -> Iterator[TopicFactory]:
    """create(prefix, partitions=1, replication_factor=-1, config=None) -> name of a new unique topic."""
    created: list[str] = []

    def create(prefix: str = "test", partitions: int = 1, replication_factor: int = -1,
               config: dict[str, str] | None = None) -> str:  # fmt: skip
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        create_topic(kafka_bootstrap, name, partitions, replication_factor, config)
        created.append(name)
        return name

    yield create
    if created:
        futures = AdminClient({"bootstrap.servers": kafka_bootstrap}).delete_topics(created, operation_timeout=10)
        for future in futures.values():
            with contextlib.suppress(KafkaException):
                future.result(timeout=15)


def _throwaway(make: Callable[[Path], Any], prefix: str) -> Iterator[Any]:
    """A server in a new folder under /tmp (as root, PostgreSQL and MariaDB run as their own OS users, who cannot
    reach pytest's 0700 tmp dir), started for the session and stopped by PID."""
    base_dir = Path(tempfile.mkdtemp(prefix=prefix))
    server = make(base_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


def _fresh_database(server: DatabaseServer | ExistingMariaDB) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DatabaseServer]:
    """$CCPA_TEST_POSTGRES_URL's server, or a throwaway cluster started for the session."""
    if external := os.environ.get("CCPA_TEST_POSTGRES_URL"):
        yield ExistingPostgres(external)
    else:
        yield from _throwaway(PostgresServer, "ccpa-pg-")


@pytest.fixture
def pg_url(postgres_server: DatabaseServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, uniquely named database, dropped after the test."""
    yield from _fresh_database(postgres_server)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[ExistingMariaDB]:
    """$CCPA_TEST_MARIADB_URL's server (MySQL or MariaDB), or a throwaway MariaDB started for the session."""
    if external := os.environ.get("CCPA_TEST_MARIADB_URL"):
        yield ExistingMariaDB(external)
    else:
        yield from _throwaway(MariaDBServer, "ccpa-mdb-")


@pytest.fixture
def mariadb_url(mariadb_server: ExistingMariaDB) -> Iterator[str]:
    """SQLAlchemy URL (mysql+pymysql) of a fresh, uniquely named MariaDB database, dropped after the test."""
    yield from _fresh_database(mariadb_server)


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    """A real SMTP server (Mailpit) on loopback for the session; tests read what was sent from its API."""
    server = MailServer(tmp_path_factory.mktemp("mailpit"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """$CCPA_TEST_REDIS_URL, or a Redis server without persistence started for the session."""
    if external := os.environ.get("CCPA_TEST_REDIS_URL"):
        yield external
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
