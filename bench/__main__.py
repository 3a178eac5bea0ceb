"""`python -m bench`: parse options, run the benchmark, print the table, write .local/bench/results.json."""

from __future__ import annotations

import argparse
import signal
import sys

from rich.console import Console

from bench import report
from bench.infra import REPO_ROOT, interrupt
from bench.run import Settings, print_targets, run

RESULTS = REPO_ROOT / ".local" / "bench" / "results.json"


def parse(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--requests", type=int, help="requests in the intake load test (default 3000; quick 300)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent keep-alive clients (default 16)")
    parser.add_argument("--latency-samples", type=int, help="submit → timeline samples (default 200; quick 20)")
    parser.add_argument("--optout-samples", type=int, help="opt-out propagation samples (default 200; quick 20)")
    parser.add_argument("--workers", type=int, default=2, help="intake processes on its port (default 2)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (well under a minute of load)")
    args = parser.parse_args(argv)
    quick = args.quick
    requests = args.requests or (300 if quick else 3000)
    return Settings(
        requests=requests,
        concurrency=max(1, args.concurrency),
        latency_samples=args.latency_samples or (20 if quick else 200),
        warmup=50 if quick else 200,
        kafka_round_trips=100 if quick else 500,
        kafka_bulk_messages=5_000 if quick else 50_000,
        optout_samples=args.optout_samples or (20 if quick else 200),
        optout_background_rate=20.0,
        pg_commits=200 if quick else 2_000,
        http_round_trips=200 if quick else 1_000,
        intake_workers=args.workers,
    )


def main(argv: list[str]) -> int:
    settings = parse(argv)
    signal.signal(signal.SIGTERM, interrupt)
    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        result = run(settings, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: processes, PostgreSQL and Kafka stopped")
        return 130
    report.render(result, console)
    print_targets(result, console, " ".join(["python -m bench", *argv]))
    report.write_json(result, RESULTS)
    console.print(f"[bold]json[/]: {RESULTS}")
    return 0


sys.exit(main(sys.argv[1:]))
