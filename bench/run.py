"""One benchmark run: start the infrastructure, measure the floors and the pipeline, build the report."""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from bench import floors, infra, intake_load, latency, optout, proctree
from bench.report import TIMES, Figure, Report
from bench.stats import summarise
from bench.targets import TARGETS, previous, record
from devtools.demo import company
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.localstack.kafka_jars import DEFAULT_KAFKA_VERSION

LOG_COPY_DIR = infra.REPO_ROOT / ".local" / "bench" / "logs"
LOG_PROBLEM = re.compile(r'"level": "(WARNING|ERROR|CRITICAL)"|Traceback|^%[0-4]\|')


@dataclass(frozen=True)
class Settings:
    requests: int
    concurrency: int
    latency_samples: int
    warmup: int
    kafka_round_trips: int
    kafka_bulk_messages: int
    optout_samples: int
    optout_background_rate: float
    pg_commits: int
    http_round_trips: int
    intake_workers: int = 1


@dataclass
class Measured:
    """Raw results, filled step by step so a partial run can still say how far it got."""

    kafka: floors.KafkaFloor | None = None
    commits: floors.CommitFloor | None = None
    http: list[float] | None = None
    http_load: intake_load.LoadResult | None = None
    load: intake_load.LoadResult | None = None
    drain_s: float | None = None
    e2e: latency.EndToEnd | None = None
    rss: dict[str, int | None] | None = None
    propagation: optout.Propagation | None = None


def run(settings: Settings, console: Console) -> Report:
    with infra.infrastructure() as stack:
        console.log(f"broker {stack.bootstrap_servers}, PostgreSQL on port {stack.postgres.port}")
        config = infra.pipeline_config(
            stack, customers=settings.requests + settings.warmup + settings.latency_samples + 10
        )
        workers = {"CCPA_HTTP_WORKERS": str(settings.intake_workers)}
        config = dataclasses.replace(config, extra_env={**config.extra_env, **workers})
        try:
            with infra.running_pipeline(config) as pipeline:
                console.log(f"pipeline up: intake {pipeline.intake.url}, audit {pipeline.audit.url}")
                measured = measure(settings, stack, config, pipeline, console)
        finally:
            problems = keep_logs(config.log_dir)
        return build_report(settings, measured, machine(stack), problems)


def measure(
    settings: Settings, stack: infra.Infra, config: PipelineConfig, pipeline: Pipeline, console: Console
) -> Measured:
    measured = Measured()
    console.log("floors: Kafka round trips and bulk, PostgreSQL commits, HTTP /healthz")
    measured.kafka = floors.kafka_round_trips(stack.bootstrap_servers, settings.kafka_round_trips)
    floors.kafka_bulk(stack.bootstrap_servers, settings.kafka_bulk_messages, result=measured.kafka)
    measured.commits = floors.pg_commits(stack.postgres.create_database("bench_floor"), settings.pg_commits)
    healthz = f"{pipeline.intake.url}/healthz"
    measured.http = floors.http_round_trips(healthz, settings.http_round_trips)
    measured.http_load = intake_load.get_all(healthz, settings.requests, settings.concurrency)

    bodies = intake_load.BodySource(company.generate(settings.requests + settings.warmup + settings.latency_samples))
    console.log(f"warm-up: {settings.warmup} requests")
    warm = intake_load.post_all(pipeline.intake.url, bodies.take(settings.warmup), settings.concurrency)
    latency.wait_drained(config.audit_db_url, len(warm.accepted), timeout_s=60)

    console.log(f"load: {settings.requests} requests, {settings.concurrency} concurrent clients")
    measured.load = intake_load.post_all(pipeline.intake.url, bodies.take(settings.requests), settings.concurrency)
    visible_at = latency.wait_drained(config.audit_db_url, len(warm.accepted) + len(measured.load.accepted))
    if visible_at is not None and measured.load.last_accepted_at:
        measured.drain_s = max(0.0, visible_at - measured.load.last_accepted_at)

    console.log(f"submit -> timeline: {settings.latency_samples} requests, one at a time")
    measured.e2e = latency.submit_to_timeline(
        pipeline.intake.url, pipeline.audit.url, pipeline.auth, bodies.take(settings.latency_samples)
    )
    console.log(f"opt-out propagation: {settings.optout_samples} samples under "
                f"{settings.optout_background_rate:.0f} opt-outs/s of background load")  # fmt: skip
    measured.propagation = optout.measure(pipeline, settings.optout_samples, settings.optout_background_rate)
    measured.rss = {
        "intake": proctree.tree_peak_rss_bytes(infra.service_pid(pipeline, "intake")),  # + its workers
        "audit": infra.peak_rss_bytes(infra.service_pid(pipeline, "audit")),
        "optout": infra.peak_rss_bytes(infra.service_pid(pipeline, "optout")),
        "kafka broker": max((infra.peak_rss_bytes(pid) or 0 for pid in stack.broker_pids()), default=None),
    }
    return measured


def build_report(settings: Settings, m: Measured, machine_info: dict[str, Any], problems: dict[str, int]) -> Report:
    assert m.kafka and m.commits and m.http is not None and m.http_load and m.load and m.e2e and m.rss
    load, http_load = summarise(m.load.latencies), summarise(m.http_load.latencies)
    e2e, submit = summarise(m.e2e.timeline), summarise(m.e2e.submit)
    rtt, commit, http = summarise(m.kafka.round_trips), summarise(m.commits.commits), summarise(m.http)
    assert m.propagation is not None
    to_state, to_ack = summarise(m.propagation.to_state), summarise(m.propagation.to_ack)
    bg = f"{m.propagation.background_rate:.0f}/s background"
    c = settings.concurrency
    rss_sum = (m.rss["intake"] or 0) + (m.rss["audit"] or 0) + (m.rss["optout"] or 0)
    figures = [
        Figure(
            f"intake durable requests/s ({c} clients)",
            "rate",
            m.load.throughput,
            http_load.count and m.http_load.throughput,
            f"GET /healthz, {c} clients",
            "~1.5 req/s sequential (different op)",
        ),
        Figure("intake p50 under load", "latency", load.p50, http_load.p50, f"/healthz p50, {c} clients"),
        Figure("intake p99 under load", "latency", load.p99, http_load.p99, f"/healthz p99, {c} clients"),
        Figure(
            "intake p50 unloaded (one client)",
            "latency",
            submit.p50,
            http.p50 + commit.p50,
            "/healthz p50 + INSERT+COMMIT p50",
        ),
        Figure(
            "intake p99 unloaded (one client)",
            "latency",
            submit.p99,
            http.p99 + commit.p99,
            "/healthz p99 + INSERT+COMMIT p99",
        ),
        Figure(
            "submit → timeline p50",
            "latency",
            e2e.p50,
            rtt.p50,
            "Kafka produce→consume p50",
            "access request 0.6-0.9 s (different op)",
        ),
        Figure("submit → timeline p99", "latency", e2e.p99, rtt.p99, "Kafka produce→consume p99"),
        Figure(
            "backlog drain (last 202 → last timeline)",
            "duration",
            m.drain_s,
            len(m.load.accepted) / m.kafka.bulk_rate if m.kafka.bulk_rate else None,
            f"Kafka moving {len(m.load.accepted)} msgs in bulk",
        ),
        Figure(
            f"opt-out signal → state on topic p50 ({bg})",
            "latency",
            to_state.p50,
            2 * rtt.p50,
            f"2{TIMES} Kafka produce→consume p50 (intake→optout→topic)",
        ),
        Figure("opt-out signal → state on topic p99", "latency", to_state.p99, 2 * rtt.p99, f"2{TIMES} Kafka p99"),
        Figure(
            "opt-out signal → downstream ack p50",
            "latency",
            to_ack.p50,
            3 * rtt.p50,
            f"3{TIMES} Kafka produce→consume p50 (+ downstream hop)",
        ),
        Figure("opt-out signal → downstream ack p99", "latency", to_ack.p99, 3 * rtt.p99, f"3{TIMES} Kafka p99"),
        Figure("peak RSS intake (+ workers)", "size", m.rss["intake"]),
        Figure("peak RSS audit", "size", m.rss["audit"]),
        Figure("peak RSS optout", "size", m.rss["optout"]),
        Figure(
            "peak RSS intake + audit + optout",
            "size",
            rss_sum or None,
            field=f"~1.2 GiB with worker (= {1.2 * 2**30 / rss_sum:.1f}{TIMES} ours)" if rss_sum else "~1.2 GiB",
        ),
    ]
    floor_rows = [
        Figure("Kafka produce→consume p50 (acks=all, idempotent, linger 0)", "latency", rtt.p50),
        Figure("Kafka produce→consume p99", "latency", rtt.p99),
        Figure(f"Kafka bulk produce→consume ({m.kafka.bulk_messages} msgs of 200 B)", "rate", m.kafka.bulk_rate),
        Figure("PostgreSQL INSERT+COMMIT p50", "latency", commit.p50),
        Figure("PostgreSQL INSERT+COMMIT p99", "latency", commit.p99),
        Figure("PostgreSQL sequential commits/s", "rate", m.commits.rate),
        Figure("HTTP GET /healthz p50 (one client)", "latency", http.p50),
        Figure("HTTP GET /healthz p99 (one client)", "latency", http.p99),
        Figure(f"HTTP GET /healthz rate ({c} clients)", "rate", m.http_load.throughput),
        Figure("Kafka broker peak RSS (JVM, for context)", "size", m.rss["kafka broker"] or None),
    ]
    details = {
        "intake_load": {
            **load.as_dict(),
            "accepted": len(m.load.accepted),
            "failures": m.load.failures,
            "elapsed_s": m.load.elapsed,
        },
        "healthz_load": http_load.as_dict(),
        "submit_unloaded": submit.as_dict(),
        "submit_to_timeline": {
            **e2e.as_dict(),
            "timeouts": m.e2e.timeouts,
            "polls_p50": summarise([float(p) for p in m.e2e.polls]).p50,
        },
        "kafka_round_trip": {**rtt.as_dict(), "timeouts": m.kafka.timeouts},
        "pg_commit": commit.as_dict(),
        "healthz": http.as_dict(),
        "rss_bytes": m.rss,
        "optout_to_state": to_state.as_dict(),
        "optout_to_ack": {**to_ack.as_dict(), **optout.as_dict(m.propagation)},
        "service_log_problem_lines": problems,
        "service_logs": str(LOG_COPY_DIR),
    }
    return Report(machine_info, asdict(settings), figures, floor_rows, details, notes(m, problems))


def notes(m: Measured, problems: dict[str, int]) -> list[str]:
    found = []
    if m.load and m.load.failures:
        found.append(f"intake load: non-202 outcomes {m.load.failures}")
    if m.e2e and m.e2e.timeouts:
        found.append(f"{m.e2e.timeouts} request(s) never reached the timeline within {latency.SAMPLE_TIMEOUT_S:.0f}s")
    if m.drain_s is None:
        found.append("audit did not materialise the whole load backlog within the drain timeout")
    if any(problems.values()):
        found.append(f"warning/error lines in service logs {problems}; copies in {LOG_COPY_DIR}")
    found.append(
        "PostgreSQL runs with fsync=off, synchronous_commit=off (localstack): 'durable' = committed, "
        "not fsynced, for both the pipeline and the floor."
    )
    found.append("the load clients run on the same cores as intake, audit, Kafka and PostgreSQL.")
    return found


def keep_logs(log_dir: Path) -> dict[str, int]:
    """Copy the services' logs out of the temp folder; count their warning/error lines."""
    problems: dict[str, int] = {}
    LOG_COPY_DIR.mkdir(parents=True, exist_ok=True)
    for log in sorted(log_dir.glob("*.log")):
        shutil.copy2(log, LOG_COPY_DIR / log.name)
        problems[log.stem] = sum(1 for line in log.read_text(errors="replace").splitlines() if LOG_PROBLEM.search(line))
    return problems


def machine(stack: infra.Infra) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "kafka": DEFAULT_KAFKA_VERSION if stack.kafka else "external",
        "postgresql": pg_version(stack),
        "load average (1 min)": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def pg_version(stack: infra.Infra) -> str:
    engine = sa.create_engine(stack.postgres.url())
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


# The figures of issue 18 this suite measures: key -> (figure name in the report, scale to the target's unit).
TARGET_FIGURES = {"intake.durable_rate": ("intake durable requests/s", 1.0),
                  "intake.p99_loaded": ("intake p99 under load", 1000.0)}  # fmt: skip


def print_targets(report: Report, console: Console, command: str) -> None:
    """Each issue-18 figure: value, floor, previous and target, then kept as the next run's previous."""
    for key, (name, scale) in TARGET_FIGURES.items():
        figure = next(f for f in report.figures if f.name.startswith(name))
        target = TARGETS[key]
        value = figure.value * scale if figure.value is not None else None
        floor = figure.floor * scale if figure.floor is not None else None
        met = {True: "met", False: "NOT met", None: "—"}[target.met(value)]
        console.print(f"[bold]{target.label}[/]: value {_num(value)} {target.unit}, floor {_num(floor)}, "
                      f"previous {_num(previous(key))}, target {_num(target.target)} ({met})")  # fmt: skip
        record(key, value, command)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"
