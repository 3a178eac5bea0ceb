"""The world a chaos run owns: a 3-broker KRaft cluster, PostgreSQL for the services, a second PostgreSQL for the
demo company (the store taken down), Redis, the demo company with both provider servers, and every service.

Everything listens on free loopback ports and is stopped by PID in reverse order, however the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env, generate_company
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.local.process import ProviderProcess
from devtools.localstack import KafkaCluster, PostgresServer, RedisServer, free_port, free_port_block

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_CACHE = REPO_ROOT / ".local" / "cache"
BROKERS = 3
PROVIDER_NAMES = ("mailer", "shipper")


@dataclasses.dataclass
class World:
    """Handles on everything the run may kill, stop or read."""

    kafka: KafkaCluster
    demo_db: PostgresServer
    redis: RedisServer
    target: DemoTarget
    providers: dict[str, ProviderProcess]
    pipeline: Pipeline
    log_dir: Path

    def customers(self) -> list[dict[str, Any]]:
        """The demo company's customers, read from its app database (the identity source intake verifies)."""
        engine = sa.create_engine(self.target.app_db_url)
        table = sa.Table("customers", sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.account_id)).mappings().all()
        engine.dispose()
        return [dict(row) for row in rows]


@contextlib.contextmanager
def running_world(subjects: int, log_dir: Path, log: Any) -> Iterator[World]:
    """Start the world with `subjects` demo customers; stop all of it when the block ends."""
    scratch = Path(tempfile.mkdtemp(prefix="ccpa-chaos-"))
    scratch.chmod(0o755)  # as root, PostgreSQL runs as the postgres user and must reach its folder
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, True)
        log("starting a 3-broker KRaft cluster, two PostgreSQL servers and Redis")
        kafka = KafkaCluster(scratch / "kafka", brokers=BROKERS, port=free_port_block(BROKERS), cache_dir=KAFKA_CACHE)
        stack.callback(kafka.stop)
        kafka.start(timeout=120)
        services_db = _postgres(stack, scratch / "pg-services")
        demo_db = _postgres(stack, scratch / "pg-demo")
        redis = RedisServer(scratch / "redis", port=free_port())
        stack.callback(redis.stop)
        redis.start()
        target = _demo_target(scratch / "demo", demo_db, redis)
        log(f"generating the demo company ({subjects:,} subjects)")
        generate_company(target, subjects, force=True)
        env = demo_env(target)
        providers = {name: ProviderProcess(name, env, _port(target, name), target.provider_data(name), log_dir)
                     for name in PROVIDER_NAMES}  # fmt: skip
        for provider in providers.values():
            stack.callback(provider.stop)
            provider.start()
        log("starting intake, audit, discovery, deletion, optout and the reference downstream")
        pipeline = Pipeline(_config(kafka, services_db, target, log_dir))
        stack.callback(pipeline.stop)
        pipeline.start()
        yield World(kafka, demo_db, redis, target, providers, pipeline, log_dir)


def _postgres(stack: contextlib.ExitStack, base_dir: Path) -> PostgresServer:
    server = PostgresServer(base_dir, port=free_port())  # a fixed port: a restart comes back where clients look
    stack.callback(server.stop)
    server.start()
    return server


def _demo_target(root: Path, demo_db: PostgresServer, redis: RedisServer) -> DemoTarget:
    target = DemoTarget.in_directory(root, redis_url=redis.url, app_db_url=demo_db.create_database("demo_app"))
    return dataclasses.replace(target, mailer_url=f"http://127.0.0.1:{free_port()}",
                               shipper_url=f"http://127.0.0.1:{free_port()}")  # fmt: skip


def _port(target: DemoTarget, name: str) -> int:
    url = target.mailer_url if name == "mailer" else target.shipper_url
    return int(url.rsplit(":", 1)[1])


def _config(kafka: KafkaCluster, postgres: PostgresServer, target: DemoTarget, log_dir: Path) -> PipelineConfig:
    suffix = uuid.uuid4().hex[:8]
    roles = ("intake", "audit", "keys", "optout", "discovery", "deletion")
    urls = {role: postgres.create_database(f"chaos_{role}_{suffix}") for role in roles}
    return PipelineConfig(
        bootstrap_servers=kafka.bootstrap_servers, topic_namespace=f"chaos-{suffix}.",
        intake_db_url=urls["intake"], audit_db_url=urls["audit"], keystore_url=urls["keys"],
        identity_source_url=target.app_db_url, log_dir=log_dir, optout_db_url=urls["optout"],
        discovery_db_url=urls["discovery"], deletion_db_url=urls["deletion"], datamap_path=DATAMAP_PATH,
        extra_env={
            **demo_env(target),
            # Every partition on all three brokers, two in sync to acknowledge: one broker down loses nothing.
            "CCPA_TOPIC_REPLICATION_FACTOR": str(BROKERS),
            "CCPA_RETRY_INITIAL_SECONDS": "0.5", "CCPA_RETRY_MAX_SECONDS": "5",
            "CCPA_PROVIDER_GRACE_SECONDS": "20", "CCPA_ACK_SLA_SECONDS": "600",
        },
    )  # fmt: skip
