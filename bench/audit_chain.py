"""`python -m bench.audit_chain`: what audit's tamper-evident chain costs at ingest (chain on beside the same
consumer with it off), and how fast `ccpa audit verify` walks a database of 1M entries."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid

from rich.console import Console
from rich.table import Table

from bench import audit_ingest, audit_verify, infra
from bench.report import TIMES, Figure, fmt, fmt_ratio
from services.audit import handlers
from services.common.topics import TopicNames

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "audit_chain.json"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_chain", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="events ingested per round (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of chain off, chain on (default 3)")
    parser.add_argument("--verify-entries", type=int, default=1_000_000, help="entries verified (default 1M)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, console: Console) -> list[Figure]:
    with infra.infrastructure() as stack:
        names = TopicNames(f"bench-{uuid.uuid4().hex[:10]}.")
        console.log(f"producing {args.events} events to {names.namespace}privacy.failures")
        audit_ingest.produce(stack.bootstrap_servers, names, args.events)
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for number in range(args.rounds):
            # Alternating rounds, each on a fresh database, so drift in the machine's load hits both alike.
            for variant, routes in (("off", audit_ingest.CHAIN_OFF), ("on", handlers.ROUTES)):
                url = stack.postgres.create_database(f"bench_audit_{variant}_{number}")
                rate = audit_ingest.ingest_rate(stack.bootstrap_servers, names, url, routes, args.events)
                rates[variant].append(rate)
                console.log(f"round {number + 1}: chain {variant} {rate:,.0f} events/s")
        console.log(f"building {args.verify_entries:,} linked entries in PostgreSQL, then verifying them")
        verified = audit_verify.measure(stack.postgres.create_database("bench_audit_verify"), args.verify_entries)
        console.log(f"built in {verified.build_s:.0f} s, verified in {verified.verify_s:.1f} s, "
                    f"intact {verified.intact}")  # fmt: skip
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"events": args.events, "rates": rates, "verify": vars(verified) | {
        "rate": verified.rate}}, indent=2) + "\n")  # fmt: skip
    return [
        Figure("audit ingest events/s, chain on (median of rounds)", "rate", on, off, "the same consumer, chain off"),
        Figure(f"ccpa audit verify entries/s ({verified.entries:,} entries)", "rate", verified.rate),
    ]


def render(figures: list[Figure], console: Console) -> None:
    table = Table(title="Audit chain benchmark", title_justify="left")
    for column in ("figure", "value", "floor", f"{TIMES} floor", "floor is"):
        table.add_column(column)
    for figure in figures:
        table.add_row(figure.name, fmt(figure.kind, figure.value), fmt(figure.kind, figure.floor),
                      fmt_ratio(figure.ratio), figure.floor_name or "—")  # fmt: skip
    console.print(table)
    console.print(f"[bold]json[/]: {RESULTS}")


def main(argv: list[str]) -> int:
    args = parse(argv)
    return infra.console_main(lambda console: render(run(args, console), console), "PostgreSQL and Kafka")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
