"""`python -m bench.peer`: the peer-schema bench (issue 18, targets 1 and 2).

Per size (1k and 100k customers by default) a database is loaded from bench/peer_schema.sql (9 tables, plain
indexes only), the pipeline (intake, audit, discovery, deletion) runs over bench/peer_datamap.yaml, and:
- access: know_specific submitted → the report link in intake's status (polled every 2 ms), sequential; p50/p95 at
  the client and from the timeline's server clocks; floor: the 9 bare indexed look-ups on one warm connection;
- hops: the access request split by the timeline's server clocks (bench/hops.py);
- deletion: delete submitted → DeletionVerified; floor: the bare DELETEs and the re-walk;
- 50 concurrent access requests, requests/s; the 1k → 100k growth of the access p50; RSS of every process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench import hops, infra, peer_floors, peer_requests
from bench.stats import summarise
from bench.targets import TARGETS, previous, record
from devtools.local.pipeline import Pipeline, PipelineConfig
from services.common.datamap import load_datamap
from services.common.event_types import EventType

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "peer.json"
DATAMAP = Path(__file__).with_name("peer_datamap.yaml")
COMMAND = "python -m bench.peer"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def config(stack: infra.Infra, peer_url: str, work: Path) -> PipelineConfig:
    suffix = uuid.uuid4().hex[:10]
    urls = [stack.postgres.create_database(f"bench_{role}_{suffix}") for role in ("intake", "audit", "keys", "disc",
                                                                                  "del")]  # fmt: skip
    return PipelineConfig(
        bootstrap_servers=stack.bootstrap_servers, topic_namespace=f"bench-{suffix}.", intake_db_url=urls[0],
        audit_db_url=urls[1], keystore_url=urls[2], identity_source_url=peer_url, log_dir=work / "logs",
        discovery_db_url=urls[3], deletion_db_url=urls[4], datamap_path=DATAMAP,
        extra_env={"PEER_DB_URL": peer_url, "CCPA_PROVIDER_GRACE_SECONDS": "0",
                   "CCPA_IDENTITY_SOURCE_TABLE": "customer",
                   "CCPA_IDENTITY_SOURCE_COLUMNS": json.dumps({"email": "email", "name": "name", "account_id": "id"})},
    )  # fmt: skip


def run_size(stack: infra.Infra, customers: int, samples: int, deletions: int, console: Console) -> dict[str, Any]:
    name = f"peer_{customers}_{uuid.uuid4().hex[:6]}"
    peer_url = stack.postgres.create_database(name)
    libpq = make_url(peer_url).set(drivername="postgresql").render_as_string(hide_password=False)
    console.log(f"loading the peer schema with {customers:,} customers")
    load_s = peer_floors.load_schema(libpq, customers)
    step = max(1, customers // (samples + 60))
    know_ids = [1 + i * step for i in range(samples + 3)]
    concurrent_ids = [2 + i * step for i in range(50)]
    doomed = [3 + i * step for i in range(2 * deletions)]
    floor_access = peer_floors.access_floor(libpq, know_ids[3:])
    floor_walk = peer_floors.walk_floor(load_datamap(DATAMAP, {"PEER_DB_URL": peer_url}), know_ids[3:])
    floor_delete = peer_floors.deletion_floor(libpq, doomed[deletions:])
    pipeline = start_pipeline(config(stack, peer_url, stack.work_dir / f"size-{customers}"), console)
    try:
        with httpx.Client(timeout=60) as http:
            for number in know_ids[:3]:  # warm-up: consumer groups, connections, reflection
                peer_requests.know(http, pipeline, number)
            console.log(f"{samples} sequential access requests")
            client, timelines = [], []
            for number in know_ids[3:]:
                request_id, seconds, seen = peer_requests.know(http, pipeline, number)
                client.append(seconds)
                timelines.append((request_id, seen - seconds, seen))
            entries = [peer_requests.settled_timeline(http, pipeline, rid, EventType.REPORT_READY)
                       for rid, _, _ in timelines]  # fmt: skip
            server = [peer_requests.server_latency(e, EventType.REPORT_READY) for e in entries]
            hop_samples = [hops.split(e, sent, seen) for e, (_, sent, seen) in zip(entries, timelines, strict=True)]
            console.log(f"{deletions} deletions, one after another")
            deleted_client, deleted_server = [], []
            for number in doomed[:deletions]:
                request_id, seconds = peer_requests.delete(http, pipeline, number)
                deleted_client.append(seconds)
                deleted_server.append(peer_requests.server_latency(
                    peer_requests.settled_timeline(http, pipeline, request_id, EventType.DELETION_VERIFIED),
                    EventType.DELETION_VERIFIED))  # fmt: skip
        console.log("50 concurrent access requests")
        rate = concurrent(pipeline, concurrent_ids)
        rss = {service.service: infra.peak_rss_bytes(service.process.pid if service.process else None)
               for service in pipeline.services}  # fmt: skip
    finally:
        pipeline.stop()
    rss["kafka"] = sum(infra.peak_rss_bytes(pid) or 0 for pid in stack.broker_pids()) or None
    return {"customers": customers, "load_s": load_s, "loadavg": os.getloadavg(),
            "access_client": summarise(client).as_dict() | {"p95": p95(client)},
            "access_server": summarise(server).as_dict() | {"p95": p95(server)},
            "access_floor": summarise(floor_access).as_dict(),
            "walk_in_process": summarise(floor_walk).as_dict(),
            "hops": hops.summary(hop_samples, statistics.median(floor_walk)),
            "deletion_client": summarise(deleted_client).as_dict(),
            "deletion_server": summarise(deleted_server).as_dict(),
            "deletion_floor": summarise(floor_delete).as_dict(),
            "concurrent_rate": rate, "rss_mib": {k: v / 2**20 if v else None for k, v in rss.items()}}  # fmt: skip


def start_pipeline(settings: PipelineConfig, console: Console, attempts: int = 3) -> Pipeline:
    """The pipeline started; again when a service gave up during start-up (a loaded broker can time out)."""
    for attempt in range(1, attempts + 1):
        pipeline = Pipeline(settings)
        try:
            return pipeline.start()
        except RuntimeError as exc:
            pipeline.stop()
            if attempt == attempts:
                raise
            console.log(f"[yellow]start-up failed ({str(exc).splitlines()[0]}), starting again[/]")
    raise AssertionError("unreachable")


def concurrent(pipeline: Pipeline, numbers: list[int]) -> float:
    """50 access requests at once, each from its own client thread: requests/s from the first POST to the last link."""
    started = time.perf_counter()

    def one(number: int) -> float:
        with httpx.Client(timeout=120) as http:
            return peer_requests.know(http, pipeline, number, timeout=120)[1]

    with ThreadPoolExecutor(len(numbers)) as pool:
        list(pool.map(one, numbers))
    return len(numbers) / (time.perf_counter() - started)


def figures(results: list[dict[str, Any]]) -> list[tuple[str, float, float | None]]:
    """(target key, value, floor) of every figure issue 18 sets a target for; ms for times."""
    rows: list[tuple[str, float, float | None]] = []
    for r in results:
        size = {1000: "1k", 100_000: "100k"}.get(r["customers"])
        if size is None:
            continue
        floor = r["access_floor"]["p50"] * 1000
        rows += [(f"peer.{size}.access_p50", r["access_client"]["p50"] * 1000, floor),
                 (f"peer.{size}.access_p95", r["access_client"]["p95"] * 1000, floor),
                 (f"peer.{size}.deletion_p50", r["deletion_client"]["p50"] * 1000, r["deletion_floor"]["p50"] * 1000),
                 (f"peer.{size}.concurrent_rate", r["concurrent_rate"], 1 / r["access_floor"]["p50"])]  # fmt: skip
    by_size = {r["customers"]: r for r in results}
    if 1000 in by_size and 100_000 in by_size:
        growth = by_size[100_000]["access_client"]["p50"] / by_size[1000]["access_client"]["p50"]
        floor_growth = by_size[100_000]["access_floor"]["p50"] / by_size[1000]["access_floor"]["p50"]
        rows.append(("peer.growth_p50", growth, floor_growth))
    if results:
        rows.append(("peer.non_store_hops_p50", results[-1]["hops"]["non_store_p50_ms"], None))
    return rows


def render(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Peer schema: issue 18's figures, each beside its floor, the previous figure and the target")
    for column in ("figure", "value", "floor", "previous", "target", "met"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for key, value, floor in figures(results):
        target = TARGETS[key]
        unit = target.unit
        table.add_row(target.label, f"{value:.1f} {unit}", f"{floor:.1f} {unit}" if floor is not None else "-",
                      _num(previous(key), unit), _num(target.target, unit),
                      {True: "yes", False: "[red]no[/]", None: "-"}[target.met(value)])  # fmt: skip
    console.print(table)
    for r in results:
        details = Table(title=f"{r['customers']:,} customers (load average {r['loadavg'][0]:.2f})")
        for column in ("figure", "p50", "p95 / p99", "mean"):
            details.add_column(column, justify="right" if column != "figure" else "left")
        for label, key, tail in (("access, client", "access_client", "p95"), ("access, server clocks",
                                 "access_server", "p95"), ("access floor: 9 bare look-ups", "access_floor", "p99"),
                                 ("our walk alone, in-process", "walk_in_process", "p99"),
                                 ("deletion → verified, client", "deletion_client", "p99"),
                                 ("deletion → verified, server clocks", "deletion_server", "p99"),
                                 ("deletion floor: bare DELETEs + re-walk", "deletion_floor", "p99")):  # fmt: skip
            s = r[key]
            details.add_row(label, _ms(s["p50"]), _ms(s[tail]), _ms(s["mean"]))
        console.print(details)
        hops.render(r["hops"], console, f"{r['customers']:,} customers: access request per hop (server clocks)")
        rss = ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mib"].items() if v)
        services = sum(v for k, v in r["rss_mib"].items() if v and k != "kafka")
        console.print(f"peak RSS (MiB): {rss}; services total {services:.0f}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _num(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.1f} {unit}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated customer counts")
    parser.add_argument("--samples", type=int, default=20, help="sequential access requests per size")
    parser.add_argument("--deletions", type=int, default=6, help="sequential deletions per size")
    parser.add_argument("--no-record", action="store_true", help="do not keep the figures as the next previous ones")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    results: list[dict[str, Any]] = []

    def measure(console: Console) -> None:
        with infra.infrastructure() as stack:
            for size in sizes:
                results.append(run_size(stack, size, args.samples, args.deletions, console))
                render(results[-1:], console)
        render(results, console)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
        if not args.no_record:
            for key, value, _floor in figures(results):
                record(key, value, f"{COMMAND} --sizes {args.sizes}")
        console.print(f"[bold]json[/]: {RESULTS}")

    return infra.console_main(measure, "Kafka, PostgreSQL and the services")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
