"""`python -m bench.discovery`: right-to-know and deletion latency, queued-deletion throughput and PI-scanner
throughput on the demo company.

For each size (100k and 1M subjects by default) the demo company is generated (SQLite app and marketing
databases, Redis, log files, two provider servers), then:
- floor: the bare walk over the same stores, in-process (indexed lookups and the same log index as the services,
  built cold by a warm-up walk; no Kafka, no report, no encryption);
- value: know_specific submitted over HTTP → ReportReady on the timeline (server clocks: received_at → ReportReady);
- scanner: `scan()` over the demo data map, rows/s, and precision / recall against the PI the demo plants outside
  the data map (`devtools/demo/planted.py`);
- deletion floor: plan + erase + walk in-process over the same stores (no Kafka, no providers, no journal);
- deletion: delete submitted over HTTP → DeletionVerified on the timeline (received_at → verified), one at a time;
- queued deletions: N submitted at once, until the last is verified: deletions/s.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench import infra
from bench.report import TIMES
from bench.stats import Summary, summarise
from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env, generate_company, load_demo_datamap
from devtools.demo.planted import DECOYS, PLANTED_PI
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.local.process import ProviderProcess
from devtools.localstack.ports import free_port
from devtools.localstack.redis import RedisServer
from services.common.datamap import DataMap
from services.common.event_types import EventType
from services.common.stores import logindexed, open_connector, walk
from services.deletion.erasure import ErasureEngine, plan_erasure
from services.discovery.scanner import ScanOptions, evaluate, scan

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "discovery.json"
DATA_DIR = infra.REPO_ROOT / ".local" / "bench"


@dataclasses.dataclass
class SizeResult:
    subjects: int
    generation_s: float
    floor: Summary
    report_ready: Summary
    client_observed: Summary
    scanner_rows_per_s: float
    scanner_records: int
    scanner_precision: float
    scanner_recall: float
    deletion_floor: Summary | None = None
    deletion_verified: Summary | None = None
    queued: Queued | None = None


def sample_subjects(app_db_url: str, subjects: int, samples: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    picks = sorted({f"acct-{rng.randrange(subjects):07d}" for _ in range(samples)})
    engine = sa.create_engine(app_db_url)
    customers = sa.Table("customers", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(customers).where(customers.c.account_id.in_(picks))).mappings().all()
    engine.dispose()
    return [dict(row) for row in rows]


def floor_walks(datamap: DataMap, env: dict[str, str], people: list[dict[str, Any]]) -> list[float]:
    connectors = {store.name: open_connector(datamap, store, env) for store in datamap.stores}
    try:
        walk(datamap, connectors, {"email": frozenset([people[0]["email"]])})  # warm connections and reflection
        timings = []
        for person in people:
            started = time.perf_counter()
            result = walk(datamap, connectors, {"email": frozenset([person["email"]])})
            timings.append(time.perf_counter() - started)
            assert not result.failures, result.failures
        return timings
    finally:
        for connector in connectors.values():
            connector.close()


def know_request(person: dict[str, Any]) -> dict[str, Any]:
    points = {key: person[column] for key, column in
              (("name", "full_name"), ("postal_code", "postal_code"), ("date_of_birth", "date_of_birth"))}  # fmt: skip
    return {"type": "know_specific", "channel": "api", "identifiers": {"email": person["email"]},
            "verification": {"data_points": points, "signed_declaration": True}}  # fmt: skip


def measure_pipeline(pipeline: Pipeline, people: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Sequential know_specific requests; each timed from intake's receipt to ReportReady on the timeline."""
    server, client = [], []
    with httpx.Client(timeout=30) as http:
        for person in people:
            started = time.perf_counter()
            response = http.post(f"{pipeline.intake.url}/v1/requests", json=know_request(person))
            response.raise_for_status()
            request_id = response.json()["request_id"]
            while (
                not http.get(f"{pipeline.intake.url}/v1/requests/{request_id}", headers=pipeline.auth)
                .json()
                .get("report")
            ):
                time.sleep(0.005)
            client.append(time.perf_counter() - started)
            server.append(_server_latency(http, pipeline, request_id))
    return server, client


def _server_latency(http: httpx.Client, pipeline: Pipeline, request_id: str, until: EventType = EventType.REPORT_READY,
                    timeout: float = 30.0) -> float:  # fmt: skip
    url = f"{pipeline.audit.url}/v1/requests/{request_id}/timeline"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = http.get(url, headers=pipeline.auth).json().get("entries", [])
        times = {entry["event_type"]: entry for entry in entries}
        if until in times and EventType.REQUEST_SUBMITTED in times:
            received = _instant(times[EventType.REQUEST_SUBMITTED]["details"]["received_at"])
            return _instant(times[until]["occurred_at"]) - received
        time.sleep(0.02)
    raise RuntimeError(f"{until} of {request_id} never reached the timeline")


def delete_request(person: dict[str, Any]) -> dict[str, Any]:
    points = {"name": person["full_name"], "postal_code": person["postal_code"]}
    return {"type": "delete", "channel": "api", "identifiers": {"email": person["email"]},
            "verification": {"data_points": points}}  # fmt: skip


def floor_deletions(datamap: DataMap, env: dict[str, str], people: list[dict[str, Any]]) -> list[float]:
    """Plan, erase and walk again in-process: what a deletion costs on these stores without the pipeline."""
    stores = [store for store in datamap.stores if store.kind != "http"]
    connectors = {store.name: open_connector(datamap, store, env) for store in stores}
    erasure = ErasureEngine(datamap, b"k" * 32)
    try:
        timings = []
        for person in people:
            started = time.perf_counter()
            found = walk(datamap, connectors, {"email": frozenset([person["email"]])})
            erasure.erase(plan_erasure(datamap, found.identifiers))
            walk(datamap, connectors, found.identifiers)
            timings.append(time.perf_counter() - started)
        return timings
    finally:
        erasure.close()
        for connector in connectors.values():
            connector.close()


def measure_deletions(pipeline: Pipeline, people: list[dict[str, Any]]) -> list[float]:
    with httpx.Client(timeout=30) as http:
        latencies = []
        for person in people:
            response = http.post(f"{pipeline.intake.url}/v1/requests", json=delete_request(person))
            response.raise_for_status()
            latencies.append(
                _server_latency(http, pipeline, response.json()["request_id"], EventType.DELETION_VERIFIED, 300)
            )
        return latencies


def floor_queued(datamap: DataMap, env: dict[str, str], people: list[dict[str, Any]], batch: int = 64) -> float:
    """Deletions/s of the same machinery in-process: concurrent walks (sharing log passes), erasure in batches
    as the worker takes them, concurrent verification walks. No Kafka, no databases of the services, no providers."""
    stores = [store for store in datamap.stores if store.kind != "http"]
    connectors = {store.name: open_connector(datamap, store, env) for store in stores}
    erasure = ErasureEngine(datamap, b"k" * 32)
    pool = ThreadPoolExecutor(32)
    try:
        started = time.perf_counter()

        def walked(seeds: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
            return walk(datamap, connectors, seeds).identifiers

        found = list(pool.map(walked, [{"email": frozenset([person["email"]])} for person in people]))
        for first in range(0, len(found), batch):
            erasure.erase_many([(plan_erasure(datamap, ids), None) for ids in found[first : first + batch]])
        list(pool.map(walked, found))
        return len(people) / (time.perf_counter() - started)
    finally:
        pool.shutdown()
        erasure.close()
        for connector in connectors.values():
            connector.close()


@dataclasses.dataclass
class Queued:
    deletions: int
    submit_s: float  # intake accepting them all
    discovery_s: float  # first submitted → the last one's discovery complete
    deletion_s: float  # deletion service started on the full queue → the last one verified
    floor_per_s: float

    @property
    def per_s(self) -> float:
        return self.deletions / self.deletion_s if self.deletion_s else 0.0


def measure_queued(pipeline: Pipeline, people: list[dict[str, Any]], floor_per_s: float) -> Queued:
    """The deletion service is stopped while the requests are submitted and discovered, so all of them are
    queued when it starts; deletions/s is counted from its start until the last one is verified."""
    deletion = pipeline.deletion
    assert deletion is not None and pipeline.config.deletion_db_url and pipeline.config.discovery_db_url
    deletion.stop()
    started = time.perf_counter()
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:

        def submit(person: dict[str, Any]) -> str:
            response = http.post(f"{pipeline.intake.url}/v1/requests", json=delete_request(person))
            response.raise_for_status()
            return str(response.json()["request_id"])

        ids = list(pool.map(submit, people))
    submitted = time.perf_counter()
    _wait_count(pipeline.config.discovery_db_url, "SELECT count(*) FROM discovery_runs WHERE status = 'complete' "
                "AND request_id = ANY(:ids)", ids, "discovery")  # fmt: skip
    discovered = time.perf_counter()
    deletion.start()
    resumed = time.perf_counter()
    _wait_count(pipeline.config.deletion_db_url, "SELECT count(*) FROM deletion_jobs WHERE verifications > 0 "
                "AND stage IN ('answering', 'complete') AND request_id = ANY(:ids)", ids, "verification")  # fmt: skip
    return Queued(len(ids), submitted - started, discovered - started, time.perf_counter() - resumed, floor_per_s)


def _wait_count(url: str, query: str, ids: list[str], what: str, timeout: float = 4 * 3600) -> None:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(sa.text(query), {"ids": ids}).scalar_one() >= len(ids):
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{what} of {len(ids)} queued deletions did not finish in {timeout:.0f} s")
    finally:
        engine.dispose()


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def run_size(stack: infra.Infra, redis: RedisServer, subjects: int, samples: int, queued: int,
             console: Console) -> SizeResult:  # fmt: skip
    ports = {"mailer": free_port(), "shipper": free_port()}
    db_index = {100_000: 1, 1_000_000: 2}.get(subjects, 3)
    target = dataclasses.replace(
        DemoTarget.in_directory(DATA_DIR / f"demo-{subjects}", redis_url=redis.url.rsplit("/", 1)[0] + f"/{db_index}"),
        mailer_url=f"http://127.0.0.1:{ports['mailer']}", shipper_url=f"http://127.0.0.1:{ports['shipper']}",
    )  # fmt: skip
    console.log(f"generating the demo company with {subjects:,} subjects (reused when unchanged)")
    company = generate_company(target, subjects, progress=sys.stdout.isatty())
    env = {**os.environ, **demo_env(target)}
    datamap = load_demo_datamap(target)
    people = sample_subjects(target.app_db_url, subjects, samples)
    doomed = [p for p in sample_subjects(target.app_db_url, subjects, samples * 2 + 2 * queued, seed=23)
              if p["account_id"] not in {q["account_id"] for q in people}]  # fmt: skip
    floor_doomed, pipeline_doomed = doomed[: samples // 2], doomed[samples // 2 : samples]
    floor_queue = doomed[samples : samples + min(queued, 500)]
    queued_doomed = doomed[samples + len(floor_queue) : samples + len(floor_queue) + queued]
    work = stack.work_dir / f"size-{subjects}"
    with ExitStack() as cleanup:
        for name, port in ports.items():
            provider = ProviderProcess(name, env, port, target.provider_data(name), work / "logs").start()
            cleanup.callback(provider.stop)
        console.log("floor: the bare walk over the same stores (the first one builds its log index)")
        cleanup.enter_context(_floor_log_index(work))
        floor = floor_walks(datamap, env, people)
        console.log("scanner over the demo stores")
        scanned = scan(datamap, ScanOptions(), source=str(DATAMAP_PATH))
        score = evaluate(scanned, PLANTED_PI, DECOYS)
        pipeline = Pipeline(_config(stack, target, work)).start()
        cleanup.callback(pipeline.stop)
        console.log(f"{len(people)} know_specific requests, one after another")
        measure_pipeline(pipeline, people[:3])  # warm-up: first connections, reflection, JIT-less caches
        server, client = measure_pipeline(pipeline, people)
        console.log(f"deletion floor over {len(floor_doomed)} subjects, then {len(pipeline_doomed)} deletions")
        deletion_floor = floor_deletions(datamap, env, floor_doomed)
        deleted = measure_deletions(pipeline, pipeline_doomed)
        queue = None
        if queued_doomed:
            console.log(f"queued floor: {len(floor_queue)} deletions in-process")
            floor_rate = floor_queued(datamap, env, floor_queue)
            console.log(f"{len(queued_doomed)} deletions queued while the deletion service is stopped")
            queue = measure_queued(pipeline, queued_doomed, floor_rate)
    return SizeResult(subjects, company.elapsed_seconds, summarise(floor), summarise(server), summarise(client),
                      scanned.rows_per_second, scanned.records, score.precision, score.recall,
                      summarise(deletion_floor), summarise(deleted),
                      queue)  # fmt: skip


@contextmanager
def _floor_log_index(work: Path) -> Iterator[None]:
    """The floors search the logs through a log index of their own, as the services do (BENCH_LOG_INDEX=0: both scan):
    the floor is the same work without the pipeline, not a slower design."""
    if os.environ.get("BENCH_LOG_INDEX") == "0":
        yield
        return
    saved = {name: os.environ.get(name) for name in ("CCPA_LOG_INDEX_DIR", "CCPA_SUBJECT_KEY_SECRET")}
    os.environ["CCPA_LOG_INDEX_DIR"] = str(work.parent / f"logindex-floor-{work.name}")
    os.environ["CCPA_SUBJECT_KEY_SECRET"] = base64.b64encode(b"bench-floor-log-index-subject-k!").decode()
    logindexed.close_all()
    try:
        yield
    finally:
        logindexed.close_all()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _config(stack: infra.Infra, target: DemoTarget, work: Path) -> PipelineConfig:
    suffix = uuid.uuid4().hex[:10]
    roles = ("intake", "audit", "keys", "disc", "del")
    urls = [stack.postgres.create_database(f"bench_{role}_{suffix}") for role in roles]
    return PipelineConfig(
        bootstrap_servers=stack.bootstrap_servers, topic_namespace=f"bench-{suffix}.", intake_db_url=urls[0],
        audit_db_url=urls[1], keystore_url=urls[2], identity_source_url=target.app_db_url, log_dir=work / "logs",
        discovery_db_url=urls[3], deletion_db_url=urls[4], datamap_path=DATAMAP_PATH,
        extra_env={**demo_env(target), "CCPA_PROVIDER_GRACE_SECONDS": "0",
                   # The services' log index, kept beside the run (built cold on the first search, then reused);
                   # BENCH_LOG_INDEX=0 measures the full scan instead.
                   "CCPA_LOG_INDEX_DIR": "" if os.environ.get("BENCH_LOG_INDEX") == "0"
                   else str(work.parent / f"logindex-{work.name}")},
    )  # fmt: skip


def render(results: list[SizeResult], console: Console) -> None:
    table = Table(title="Right to know: submit → report ready, beside the floor (bare walk over the same stores)")
    for column in ("subjects", "report ready p50", "p99", "client p50", "floor p50", "floor p99", "p50 / floor",
                   "scanner rows/s", "scanner precision / recall", "generation"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        ratio = r.report_ready.p50 / r.floor.p50 if r.floor.p50 else 0.0
        table.add_row(f"{r.subjects:,}", _ms(r.report_ready.p50), _ms(r.report_ready.p99), _ms(r.client_observed.p50),
                      _ms(r.floor.p50), _ms(r.floor.p99), f"{ratio:.1f}{TIMES}", f"{r.scanner_rows_per_s:,.0f}",
                      f"{r.scanner_precision:.2f} / {r.scanner_recall:.2f}",
                      f"{r.generation_s:.0f} s" if r.generation_s else "reused")  # fmt: skip
    console.print(table)
    deletions = Table(title="Right to delete: submit → verified (every store erased and searched again), beside the "
                            "floor (plan + erase + walk in-process)")  # fmt: skip
    for column in ("subjects", "verified p50", "p99", "floor p50", "floor p99", "p50 / floor"):
        deletions.add_column(column, justify="right")
    queues = Table(title="Queued deletions: all submitted and discovered while the deletion service is stopped, "
                         "then erased and verified; floor: the same erase and walks in-process")  # fmt: skip
    for column in ("subjects", "queued", "submit", "discovered", "deletion", "deletions/s", "floor deletions/s"):
        queues.add_column(column, justify="right")
    for r in results:
        if r.deletion_verified is not None and r.deletion_floor is not None:
            ratio = r.deletion_verified.p50 / r.deletion_floor.p50 if r.deletion_floor.p50 else 0.0
            deletions.add_row(f"{r.subjects:,}", _ms(r.deletion_verified.p50), _ms(r.deletion_verified.p99),
                              _ms(r.deletion_floor.p50), _ms(r.deletion_floor.p99), f"{ratio:.1f}{TIMES}")  # fmt: skip
        if r.queued is not None:
            q = r.queued
            queues.add_row(f"{r.subjects:,}", f"{q.deletions:,}", f"{q.submit_s:.0f} s", f"{q.discovery_s:.0f} s",
                           f"{q.deletion_s:.0f} s", f"{q.per_s:.1f}", f"{q.floor_per_s:.1f}")  # fmt: skip
    console.print(deletions)
    if queues.row_count:
        console.print(queues)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.discovery", description=__doc__)
    parser.add_argument("--subjects", default=os.environ.get("BENCH_DISCOVERY_SUBJECTS", "100000,1000000"),
                        help="comma-separated demo sizes (default 100000,1000000)")  # fmt: skip
    parser.add_argument("--samples", type=int, default=50, help="know requests per size (default 50)")
    parser.add_argument("--queued", type=int, default=100, help="deletions queued at once per size (default 100)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, infra.interrupt)
    sizes = [int(size) for size in args.subjects.split(",") if size.strip()]
    console = Console(width=None if sys.stdout.isatty() else 150)
    results = []
    with infra.infrastructure() as stack:
        redis = RedisServer(stack.work_dir / "redis")
        redis.start()
        try:
            for size in sizes:
                results.append(run_size(stack, redis, size, args.samples, args.queued, console))
                render(results[-1:], console)  # each size as soon as it is measured: a long run can be stopped
        finally:
            redis.stop()
    render(results, console)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2, default=str) + "\n")
    console.print(f"[bold]json[/]: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
