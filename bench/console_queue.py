"""`python -m bench.console_queue`: audit's GET /v1/queue and GET /v1/dashboard with 1,000,000 requests in audit's
PostgreSQL (seeded directly, bench/console_seed.py), each beside its floor: the same SQL statements the route runs,
bare on one warm connection (no HTTP, no JSON). Each statement's plan is checked with EXPLAIN ANALYZE: a sequential
scan of a seeded table is reported.

The console's own /queue page (services/console, signed in as a bench operator) is measured for the same scenarios
against the same audit: its floor is audit's route it calls (what the console adds is its own work: the session,
the page). `--console-url` and `--console-cookie` measure another console instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench import infra
from bench.console_seed import seed
from bench.report import fmt, fmt_ratio
from bench.stats import Summary, summarise
from devtools.local.pipeline import Pipeline
from services.audit import dashboard, queue
from services.audit.records import Cursor
from services.common.db import make_engine
from services.console.accounts.roles import Role
from services.console.accounts.sessions import SessionPolicy, Sessions
from services.console.accounts.store import Accounts

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "console_queue.json"
SEEDED = ("request_records", "recipient_instructions", "deadline_clocks")
# name -> the audit query string (the console's /queue takes the same parameters)
SCENARIOS = {
    "queue: first page, open": "status=open",
    "queue: overdue": "status=overdue",
    "queue: type=delete&status=open, page 3 (cursor)": "type=delete&status=open",
    "queue: due_within_days=7": "due_within_days=7",
}
DASHBOARD = "dashboard: weeks=12"
CURSOR_PAGES = 2  # pages followed before the timed one (page 3)


@dataclass
class Figure:
    """A route's latencies beside its floor's, and what EXPLAIN found in its statements."""

    route: Summary
    floor: Summary
    plans: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console_queue", description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests seeded (default 1,000,000)")
    parser.add_argument("--samples", type=int, default=200, help="timed GETs per figure (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed GETs per figure first (default 20)")
    parser.add_argument("--console-url", help="also measure another console's /queue page at this URL")
    parser.add_argument("--console-cookie", help="a signed-in session cookie's value for --console-url")
    return parser.parse_args(argv)


def timed(call: Callable[[], Any], samples: int, warmup: int) -> list[float]:
    latencies = []
    for number in range(warmup + samples):
        started = time.perf_counter()
        call()
        if number >= warmup:
            latencies.append(time.perf_counter() - started)
    return latencies


def page_url(client: httpx.Client, base: str, query: str, follow: int) -> str:
    """The URL of the page `follow` `next` links after the first one (the cursor a person's paging produces)."""
    url = f"{base}?{query}"
    for _ in range(follow):
        found = client.get(url)
        found.raise_for_status()
        url = found.json()["next"] if "json" in found.headers.get("content-type", "") else _next_link(found.text)
    return url


def _next_link(page: str) -> str:
    """The console page's "Next page" link, as a person follows it."""
    found = re.search(r'href="(/queue\?[^"]+)" rel="next"', page)
    if found is None:
        raise RuntimeError("the console's queue page has no next page: too few requests seeded for the scenario")
    return html.unescape(found.group(1))


def measure_http(client: httpx.Client, url: str, samples: int, warmup: int) -> Summary:
    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"

    return summarise(timed(get, samples, warmup))


def measure_console_queue(console_url: str, session_cookie: str, samples: int = 200,
                          warmup: int = 20) -> dict[str, Summary]:  # fmt: skip
    """The console's /queue page for each scenario, signed in with `session_cookie` (the hook for the console)."""
    cookies = {"ccpa_console_session": session_cookie}
    with httpx.Client(base_url=console_url, cookies=cookies, timeout=30) as client:
        return {f"console /queue: {name.removeprefix('queue: ')}":
                measure_http(client, page_url(client, "/queue", query, CURSOR_PAGES if "cursor" in name else 0),
                             samples, warmup)
                for name, query in SCENARIOS.items()}  # fmt: skip


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and parameters) run on `engine` inside the block."""
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)


def explain(engine: sa.Engine, statements: list[tuple[str, Any]]) -> tuple[list[str], list[str]]:
    """Each statement's plan nodes (`Index Only Scan using ix_…`), and the sequential scans of seeded tables."""
    plans, seq_scans = [], []
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar_one()
            nodes = list(_nodes(plan[0]["Plan"]))
            scans = ", ".join(f"{n['Node Type']} {n.get('Index Name') or n.get('Relation Name', '')}".strip()
                              for n in nodes if "Scan" in n["Node Type"])  # fmt: skip
            plans.append(f"{plan[0]['Execution Time']:.1f} ms: {scans}")
            seq_scans += [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"
                          and n.get("Relation Name") in SEEDED]  # fmt: skip
    return plans, seq_scans


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def floor_of(engine: sa.Engine, run: Callable[[sa.Connection], Any], samples: int, warmup: int) -> Figure:
    """The bare statements of one figure, timed on one warm connection, and their plans."""
    with engine.connect() as conn:
        floor = summarise(timed(lambda: run(conn), samples, warmup))
    with captured(engine) as statements, engine.connect() as conn:
        run(conn)
    plans, seq_scans = explain(engine, statements)
    return Figure(Summary(0, 0.0, 0.0, 0.0, 0.0), floor, plans, seq_scans)


def queue_sql(query: queue.QueueQuery, now: datetime, after: Cursor | None) -> Callable[[sa.Connection], Any]:
    def run(conn: sa.Connection) -> Any:
        return queue.page(conn, query, now, queue.DEFAULT_PAGE_SIZE, after), queue.counts(conn, query, now)

    return run


def audit_figures(audit_url: str, auth: dict[str, str], engine: sa.Engine, skew_now: Callable[[], datetime],
                  samples: int, warmup: int) -> dict[str, Figure]:  # fmt: skip
    figures = {}
    with httpx.Client(headers=auth, timeout=30) as client:
        for name, query_string in SCENARIOS.items():
            url = page_url(client, f"{audit_url}/v1/queue", query_string, CURSOR_PAGES if "cursor" in name else 0)
            cursor = httpx.URL(url).params.get("cursor")
            params = dict(httpx.QueryParams(query_string))
            within = int(params["due_within_days"]) if "due_within_days" in params else None
            query = queue.QueueQuery(params.get("type"), params.get("status", "open"), None, within)
            route = measure_http(client, url, samples, warmup)
            figure = floor_of(engine, queue_sql(query, skew_now(), Cursor.decode(cursor) if cursor else None),
                              samples, warmup)  # fmt: skip
            figures[name] = Figure(route, figure.floor, figure.plans, figure.seq_scans)
        route = measure_http(client, f"{audit_url}/v1/dashboard?weeks=12", samples, warmup)
        figure = floor_of(engine, lambda conn: dashboard.dashboard(conn, skew_now(), 12), samples, warmup)
        figures[DASHBOARD] = Figure(route, figure.floor, figure.plans, figure.seq_scans)
    return figures


def bench_operator_session(console_db_url: str) -> str:
    """A viewer account in the bench console's own database and a live session of it: the cookie's value."""
    engine = make_engine(console_db_url)
    try:
        account = Accounts(engine).add("bench-viewer", "Bench Viewer", Role.VIEWER, secrets.token_urlsafe(18),
                                       datetime.now(UTC))  # fmt: skip
        return Sessions(engine, SessionPolicy(timedelta(hours=8), timedelta(hours=8))).start(
            account.id, datetime.now(UTC)
        )
    finally:
        engine.dispose()


def run(args: argparse.Namespace, console: Console) -> tuple[dict[str, Figure], dict[str, int]]:
    with infra.infrastructure() as stack:
        config = infra.pipeline_config(stack, customers=1)
        config.extra_env.update({"CCPA_AUDIT_SNAPSHOT_SECONDS": "86400", "CCPA_AUDIT_CHECKPOINT_SECONDS": "86400"})
        engine = make_engine(config.audit_db_url)
        try:
            started = time.perf_counter()
            rows = seed(engine, args.requests, datetime.now(UTC))
            console.log(f"seeded {rows} in {time.perf_counter() - started:.0f} s")
            console_db = infra.REPO_ROOT / ".local" / "bench" / "console-bench.db"
            console_db.parent.mkdir(parents=True, exist_ok=True)
            console_db.unlink(missing_ok=True)
            pipeline = Pipeline(dataclasses.replace(config, console_db_url=f"sqlite:///{console_db}"))
            assert pipeline.console is not None
            pipeline.audit.start(timeout=120)
            pipeline.console.start(timeout=120)
            try:
                figures = audit_figures(pipeline.audit.url, pipeline.auth, engine, lambda: datetime.now(UTC),
                                        args.samples, args.warmup)  # fmt: skip
                cookie = bench_operator_session(f"sqlite:///{console_db}")
                for name, summary in measure_console_queue(pipeline.console.url, cookie, args.samples).items():
                    figures[name] = Figure(summary, figures[name.replace("console /queue: ", "queue: ")].route)
            finally:
                pipeline.console.stop()
                pipeline.audit.stop()
        finally:
            engine.dispose()
    if args.console_url and args.console_cookie:
        for name, summary in measure_console_queue(args.console_url, args.console_cookie, args.samples).items():
            figures[name] = Figure(summary, Summary(0, 0.0, 0.0, 0.0, 0.0))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows, "figures": {name: {
        "route": f.route.as_dict(), "floor": f.floor.as_dict(), "plans": f.plans, "seq_scans": f.seq_scans}
        for name, f in figures.items()}}, indent=2) + "\n")  # fmt: skip
    return figures, rows


def render(figures: dict[str, Figure], rows: dict[str, int], console: Console) -> None:
    table = Table(title=f"Console queue and dashboard, {rows['request_records']:,} requests in audit (PostgreSQL)",
                  title_justify="left")  # fmt: skip
    for column in ("figure", "p50", "p99", "floor p50", "floor p99", "ratio p50", "seq scans"):
        table.add_column(column)
    for name, figure in figures.items():
        ratio = figure.route.p50 / figure.floor.p50 if figure.floor.p50 else None
        table.add_row(name, fmt("latency", figure.route.p50), fmt("latency", figure.route.p99),
                      fmt("latency", figure.floor.p50 or None), fmt("latency", figure.floor.p99 or None),
                      fmt_ratio(ratio), ", ".join(figure.seq_scans) or "none")  # fmt: skip
    console.print(table)
    for name, figure in figures.items():
        for plan in figure.plans:
            console.print(f"[dim]{name}[/]: {plan}")
    console.print("[bold]floor[/]: the route's own SQL statements, bare, on one warm connection (no HTTP, no JSON)")
    console.print(f"[bold]json[/]: {RESULTS}")


def main(argv: list[str]) -> int:
    args = parse(argv)
    return infra.console_main(lambda console: render(*run(args, console), console), "audit, PostgreSQL and Kafka")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
