"""Real Kafka, PostgreSQL, MariaDB, Redis and an SMTP server (Mailpit) on loopback without a Docker engine, for
tests and `make up`.

See DESIGN.md §7; the command line is `python -m devtools.localstack`.
"""

from devtools.localstack.kafka import KafkaCluster
from devtools.localstack.kafka_jars import DEFAULT_KAFKA_VERSION, fetch_kafka_jars
from devtools.localstack.mailpit import Mail, MailServer
from devtools.localstack.mariadb import ExistingMariaDB, MariaDBServer
from devtools.localstack.ports import LocalStackError, free_port, free_port_block
from devtools.localstack.postgres import DatabaseServer, ExistingPostgres, PostgresServer
from devtools.localstack.redis import RedisServer

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "DatabaseServer",
    "ExistingMariaDB",
    "ExistingPostgres",
    "KafkaCluster",
    "LocalStackError",
    "Mail",
    "MailServer",
    "MariaDBServer",
    "PostgresServer",
    "RedisServer",
    "fetch_kafka_jars",
    "free_port",
    "free_port_block",
]
