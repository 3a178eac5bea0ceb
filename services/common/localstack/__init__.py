"""Real Kafka, PostgreSQL, MariaDB and Redis on loopback without a Docker engine, for tests and `make up`.

See DESIGN.md §7; the command line is `python -m services.common.localstack`.
"""

from services.common.localstack.kafka import DEFAULT_KAFKA_VERSION, KafkaCluster, fetch_kafka_jars
from services.common.localstack.mariadb import ExistingMariaDB, MariaDBServer
from services.common.localstack.ports import LocalStackError, free_port, free_port_block
from services.common.localstack.postgres import DatabaseServer, ExistingPostgres, PostgresServer
from services.common.localstack.redis import RedisServer

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "DatabaseServer",
    "ExistingMariaDB",
    "ExistingPostgres",
    "KafkaCluster",
    "LocalStackError",
    "MariaDBServer",
    "PostgresServer",
    "RedisServer",
    "fetch_kafka_jars",
    "free_port",
    "free_port_block",
]
