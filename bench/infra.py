"""Start and stop the real infrastructure of a benchmark run: Kafka, PostgreSQL, an intake + audit pipeline.

Everything lives on loopback and is stopped in `finally` blocks, so Ctrl-C (KeyboardInterrupt) cleans up too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import sqlalchemy as sa
from rich.console import Console

from devtools.demo import company
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.localstack import KafkaCluster, PostgresServer, free_port_block
from services.audit import orm as audit_orm
from services.common.event_types import EventType

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_CACHE = REPO_ROOT / ".local" / "cache"


@dataclass
class Infra:
    """The broker and database server of one run, and a scratch folder for logs and the identity source."""

    bootstrap_servers: str
    postgres: PostgresServer
    work_dir: Path
    kafka: KafkaCluster | None  # None when $KAFKA_BOOTSTRAP_SERVERS names an external broker

    def broker_pids(self) -> list[int]:
        if self.kafka is None:
            return []
        return [pid for pid in self.kafka.pids().values() if pid is not None]


@contextlib.contextmanager
def kafka_broker(base_dir: Path) -> Iterator[tuple[str, KafkaCluster | None]]:
    """$KAFKA_BOOTSTRAP_SERVERS when set, else a one-node local cluster for the run."""
    if external := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield external, None
        return
    cluster = KafkaCluster(base_dir, brokers=1, port=free_port_block(1), cache_dir=KAFKA_CACHE)
    try:
        cluster.start()
        yield cluster.bootstrap_servers, cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster under /tmp (as root the server runs as the postgres user)."""
    base_dir = Path(tempfile.mkdtemp(prefix="ccpa-bench-pg-"))
    server = PostgresServer(base_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@contextlib.contextmanager
def infrastructure(keep_dir: Path | None = None) -> Iterator[Infra]:
    """Kafka and PostgreSQL for one run; `keep_dir` keeps the logs (else a temp folder, removed after)."""
    work_dir = keep_dir or Path(tempfile.mkdtemp(prefix="ccpa-bench-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with postgres_server() as postgres, kafka_broker(work_dir / "kafka") as (bootstrap, cluster):
            yield Infra(bootstrap, postgres, work_dir, cluster)
    finally:
        if keep_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)


def pipeline_config(infra: Infra, customers: int) -> PipelineConfig:
    """Fresh PostgreSQL databases, a fresh topic namespace and a demo identity source of `customers` rows."""
    suffix = uuid.uuid4().hex[:10]
    roles = ("intake", "audit", "keys", "optout")
    urls = [infra.postgres.create_database(f"bench_{role}_{suffix}") for role in roles]
    identity = company.seed(infra.work_dir / f"identity-{suffix}.db", count=customers)
    return PipelineConfig(
        bootstrap_servers=infra.bootstrap_servers,
        topic_namespace=f"bench-{suffix}.",
        intake_db_url=urls[0],
        audit_db_url=urls[1],
        keystore_url=urls[2],
        identity_source_url=f"sqlite:///{identity}",
        log_dir=infra.work_dir / "logs",
        optout_db_url=urls[3],
    )


@contextlib.contextmanager
def running_pipeline(config: PipelineConfig) -> Iterator[Pipeline]:
    """Intake and audit as child processes; stopped (SIGTERM, then SIGKILL) however the block ends."""
    pipeline = Pipeline(config)
    try:
        pipeline.start()
        yield pipeline
    finally:
        pipeline.stop()


def peak_rss_bytes(pid: int | None) -> int | None:
    """VmHWM (peak resident set) of a live process, from /proc; None when unreadable."""
    return _proc_status_kib(pid, "VmHWM")


def rss_bytes(pid: int | None) -> int | None:
    """VmRSS (current resident set) of a live process, from /proc; None when unreadable."""
    return _proc_status_kib(pid, "VmRSS")


def _proc_status_kib(pid: int | None, field: str) -> int | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def service_pid(pipeline: Pipeline, service: str) -> int | None:
    process = getattr(pipeline, service).process
    return process.pid if process is not None else None


def submitted_count(engine: sa.Engine) -> int:
    """Requests whose RequestSubmitted entry audit has materialised (what the timeline endpoint reads)."""
    timeline = audit_orm.timeline
    query = sa.select(sa.func.count(sa.distinct(timeline.c.request_id))).where(
        timeline.c.event_type == EventType.REQUEST_SUBMITTED
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def interrupt(_signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM handler: cleans up like Ctrl-C, every `finally` stops what it started."""
    raise KeyboardInterrupt


def console_main(measure_and_print: Callable[[Console], None], stopped: str) -> int:
    """A bench's entry point: SIGTERM cleans up like Ctrl-C; 130 when interrupted, after saying what was stopped."""
    signal.signal(signal.SIGTERM, interrupt)
    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        measure_and_print(console)
    except KeyboardInterrupt:
        console.print(f"[red]interrupted[/]: {stopped} stopped")
        return 130
    return 0
