"""`python -m chaos`: parse the knobs, run, print the table beside its targets; exit 1 when a target is missed."""

from __future__ import annotations

import argparse
import signal
import sys

from rich.console import Console

from chaos import verdict
from chaos.faults import Schedule
from chaos.run import LOG_DIR, Settings, render_faults, run
from devtools.localstack import LocalStackError

FAILED_TO_RUN = 2
INTERRUPTED = 130


def parse(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--requests", type=int, help="requests in the mix (default 2000; quick 150)")
    parser.add_argument("--rate", type=float, help="requests/s in the steady part (default: spread over the faults)")
    parser.add_argument("--rounds", type=int, help="kill -9 rounds over every service process (default 3; quick 1)")
    parser.add_argument("--outage", type=float, help="seconds the demo PostgreSQL is down (default 60; quick 10)")
    parser.add_argument("--quick", action="store_true", help="a small run for development (about 3 minutes)")
    args = parser.parse_args(argv)
    quick = args.quick
    requests = args.requests or (150 if quick else 2000)
    if requests < 20:
        parser.error("--requests must be at least 20, so that every kind of request is in the mix")
    schedule = Schedule(rounds=args.rounds or (1 if quick else 3), gap_seconds=3.0 if quick else 5.0,
                        outage_seconds=args.outage or (10.0 if quick else 60.0))  # fmt: skip
    return Settings(requests=requests, rate=args.rate, schedule=schedule,
                    drain_seconds=120.0 if quick else 300.0)  # fmt: skip


def interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: every `finally` stops what it started."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    settings = parse(argv)
    signal.signal(signal.SIGTERM, interrupt)
    console = Console(width=None if sys.stdout.isatty() else 130)
    try:
        outcome = run(settings, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: every process, PostgreSQL, Redis and Kafka stopped")
        return INTERRUPTED
    except (LocalStackError, RuntimeError) as exc:
        console.print(f"[red]the chaos world did not start[/]: {exc}\nservice logs: {LOG_DIR}")
        return FAILED_TO_RUN
    render_faults(outcome, console)
    if outcome.schedule_failure:
        console.print(f"[red]the fault schedule stopped early[/]: {outcome.schedule_failure}")
    for crash in outcome.crashes:
        console.print(f"[red]exited on its own[/]: {crash}")
    for what, count in sorted(outcome.refusals.items()):
        console.print(f"not accepted: {what} ({count:,})")
    for what, count in sorted(outcome.incomplete.items()):
        console.print(f"incomplete: {what} ({count:,})")
    console.print(f"instruction retries the providers absorbed (already applied): {outcome.retries_absorbed:,}")
    rows = verdict.rows(outcome.figures)
    title = f"Chaos: {settings.requests:,} requests, {len(outcome.faults)} faults"
    verdict.render(rows, console, title)
    console.print(f"service logs: {LOG_DIR}")
    met = verdict.all_met(rows) and outcome.schedule_failure is None
    return 0 if met else 1


sys.exit(main(sys.argv[1:]))
