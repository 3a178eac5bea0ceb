"""Command line for the local servers.

Usage: python -m devtools.localstack kafka|postgres|mariadb|redis|schema-registry|opensearch up|down|status
[--dir D] [--port P];
`kafka fetch [--version V]` only downloads the broker jars (once per machine), `opensearch fetch` the node's jars;
`mailpit fetch` builds the local SMTP server (with its mail viewer) from its Go module, once per machine;
`schema-registry fetch` builds the Schema Registry server from crates.io with cargo, once per machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from devtools.localstack.kafka import KafkaCluster
from devtools.localstack.kafka_jars import DEFAULT_KAFKA_VERSION, default_cache_dir, fetch_kafka_jars
from devtools.localstack.mailpit import MAILPIT_VERSION, build_mailpit
from devtools.localstack.mariadb import MariaDBServer
from devtools.localstack.opensearch import OpenSearchServer, fetch_opensearch
from devtools.localstack.ports import LocalStackError
from devtools.localstack.postgres import PostgresServer
from devtools.localstack.redis import RedisServer
from devtools.localstack.schema_registry import RIVVEN_VERSION, SchemaRegistryServer, build_registry

Command = Callable[[argparse.Namespace], int]


def say(line: str) -> None:
    """The CLI's output to the user (library modules log instead)."""
    sys.stdout.write(f"{line}\n")


def kafka_cluster(args: argparse.Namespace) -> KafkaCluster:
    """The cluster recorded in --dir (with --brokers/--port overriding its record), or a new one."""
    brokers, port = args.brokers or 1, args.port or 9092
    if KafkaCluster.exists_in(args.dir):
        recorded = KafkaCluster.from_dir(args.dir)
        brokers, port = args.brokers or len(recorded.nodes), args.port or recorded.nodes[0].port
    return KafkaCluster(args.dir, brokers=brokers, port=port, version=args.version)


def kafka_up(args: argparse.Namespace) -> int:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        say(f"KAFKA_BOOTSTRAP_SERVERS is set: using the cluster at {external}; starting nothing")
        return 0
    if KafkaCluster.exists_in(args.dir) and KafkaCluster.from_dir(args.dir).is_running():
        say(f"Kafka already running in {args.dir}: {KafkaCluster.from_dir(args.dir).bootstrap_servers}")
        return 0
    cluster = kafka_cluster(args)
    cluster.start(timeout=args.timeout)
    say(f"Kafka {cluster.version} running in {args.dir} (logs: node-*/server.log)")
    say(f"KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}")
    return 0


def kafka_fetch(args: argparse.Namespace) -> int:
    libs = fetch_kafka_jars(default_cache_dir(), args.version)
    say(f"Kafka {args.version} jars in {libs}")
    return 0


def mailpit_fetch(_args: argparse.Namespace) -> int:
    say(f"Mailpit {MAILPIT_VERSION}: {build_mailpit()}")
    return 0


def opensearch_fetch(_args: argparse.Namespace) -> int:
    say(f"OpenSearch node jars and launcher in {fetch_opensearch()}")
    return 0


def schema_registry_fetch(_args: argparse.Namespace) -> int:
    say(f"rivven-schema {RIVVEN_VERSION}: {build_registry()}")
    return 0


def kafka_down(args: argparse.Namespace) -> int:
    if not KafkaCluster.exists_in(args.dir):
        say(f"no Kafka cluster recorded in {args.dir}; nothing to stop")
        return 0
    KafkaCluster.from_dir(args.dir).stop(timeout=args.timeout)
    say(f"Kafka in {args.dir} stopped")
    return 0


def kafka_status(args: argparse.Namespace) -> int:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        say(f"KAFKA_BOOTSTRAP_SERVERS is set: {os.environ['KAFKA_BOOTSTRAP_SERVERS']}")
    if not KafkaCluster.exists_in(args.dir):
        say(f"no Kafka cluster recorded in {args.dir}")
        return 1
    cluster = KafkaCluster.from_dir(args.dir)
    for index, pid in cluster.pids().items():
        state = f"running (pid {pid})" if pid else "stopped"
        say(f"node {index} 127.0.0.1:{cluster.nodes[index].port}: {state}")
    return 0 if cluster.is_running() else 1


class LocalServer(Protocol):
    log_file: Path

    def start(self, timeout: float = ...) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def pid(self) -> int | None: ...

    def is_running(self) -> bool: ...


def server_commands(label: str, make: Callable[..., LocalServer], url: Callable[[Any], str],
                    variable: str) -> dict[str, Command]:  # fmt: skip
    """up, down and status for a server kept in --dir (PostgreSQL, MariaDB, Redis)."""

    def up(args: argparse.Namespace) -> int:
        server = make(args.dir, port=args.port)
        if server.is_running():
            say(f"{label} already running in {args.dir}: {url(server)}")
            return 0
        server.start(timeout=args.timeout)
        say(f"{label} running in {args.dir} (log: {server.log_file})\n{variable}={url(server)}")
        return 0

    def down(args: argparse.Namespace) -> int:
        make(args.dir).stop(timeout=args.timeout)
        say(f"{label} in {args.dir} stopped")
        return 0

    def status(args: argparse.Namespace) -> int:
        server = make(args.dir)
        pid = server.pid()
        say(f"{label} running (pid {pid}): {url(server)}" if pid else f"{label} stopped")
        return 0 if pid else 1

    return {"up": up, "down": down, "status": status}


COMMANDS: dict[str, dict[str, Command]] = {
    "kafka": {"up": kafka_up, "down": kafka_down, "status": kafka_status, "fetch": kafka_fetch},
    "postgres": server_commands("PostgreSQL", PostgresServer, lambda server: server.url(), "DATABASE_URL"),
    "mariadb": server_commands("MariaDB", MariaDBServer, lambda server: server.url(), "DATABASE_URL"),
    "redis": server_commands("Redis", RedisServer, lambda server: server.url, "REDIS_URL"),
    "mailpit": {"fetch": mailpit_fetch},
    "opensearch": {
        **server_commands("OpenSearch", OpenSearchServer, lambda server: server.url, "OPENSEARCH_URL"),
        "fetch": opensearch_fetch,
    },
    "schema-registry": {
        **server_commands("Schema Registry", SchemaRegistryServer, lambda s: s.url, "CCPA_SCHEMA_REGISTRY_URL"),
        "fetch": schema_registry_fetch,
    },
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.localstack", description=__doc__)
    services = parser.add_subparsers(dest="service", required=True)
    for service, default_port in (("kafka", None), ("postgres", 5432), ("mariadb", 3306), ("redis", 6379),
                                  ("mailpit", None), ("schema-registry", 8081), ("opensearch", None)):  # fmt: skip
        sub = services.add_parser(service, help=f"local {service} on 127.0.0.1")
        sub.add_argument("action", choices=sorted(COMMANDS[service]))
        sub.add_argument("--dir", type=Path, default=Path(".local") / service, help="state folder")
        sub.add_argument("--port", type=int, default=default_port, help="(first) listening port")
        sub.add_argument("--timeout", type=float, default=60, help="seconds to wait for start or stop")
        if service == "kafka":
            sub.add_argument("--brokers", type=int, choices=(1, 3), default=None, help="1 (default) or 3")
            sub.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="kafka_2.13 version from Maven")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return COMMANDS[args.service][args.action](args)
    except LocalStackError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
