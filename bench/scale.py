"""The scale run (`python -m bench.scale --subjects 1000000 --requests 100000`): the demo company at SUBJECTS (generated
once, reused while unchanged), every service running, REQUESTS mixed requests (know, delete, correct, opt-out, limit,
opt-in, in bench/world.py's proportions) submitted as fast as intake accepts them; then the time until audit's
timeline shows every one answered, and the peak memory (VmHWM) of every process and in total.

Writes .local/bench/scale.json and records scale.drain_s and scale.peak_rss.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import infra, world
from bench.targets import TARGETS, previous, record
from devtools.localstack.redis import RedisServer

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "scale.json"


def run_scale(subjects: int, requests: int, all_in_one: bool, drain_timeout: float, console: Console) -> dict[str, Any]:
    with infra.infrastructure() as stack:
        redis = RedisServer(stack.work_dir / "redis")
        redis.start()
        try:
            console.log(f"the demo company at {subjects:,} subjects (reused when unchanged)")
            generating = time.monotonic()
            with world.demo_world(stack, redis, subjects, all_in_one) as built:
                ready_s = time.monotonic() - generating
                people = world.sample_people(built.target.app_db_url, subjects, requests)
                bodies = world.mixed_requests(people, requests)
                loadavg_before = Path("/proc/loadavg").read_text().strip()
                console.log(f"submitting {requests:,} mixed requests; load average {loadavg_before}")
                started = time.monotonic()
                ids, refused = world.submit_all(built.pipeline, bodies)
                submit_s = time.monotonic() - started
                console.log(
                    f"{len(ids):,} accepted in {submit_s:.0f} s ({len(ids) / submit_s:.0f}/s), {refused} refused"
                )
                answered, _waited = world.wait_answered(built.pipeline, len(ids), drain_timeout, console.log)
                drain_s = time.monotonic() - started
                memory = world.memory_of(built.processes())
                broker = world.memory_of({f"broker {n}": pid for n, pid in enumerate(stack.broker_pids())})
                loadavg_after = Path("/proc/loadavg").read_text().strip()
        finally:
            redis.stop()
    return {
        "subjects": subjects, "requests": requests, "mode": "all-in-one" if all_in_one else "separate",
        "generation_s": built.company.elapsed_seconds, "reused": built.company.reused, "ready_s": ready_s,
        "accepted": len(ids), "refused": refused, "submit_s": submit_s, "submit_per_s": len(ids) / submit_s,
        "answered": answered, "drained": answered >= len(ids), "drain_s": drain_s, "memory": memory,
        "broker": broker, "services_peak_mib": world.total(memory, "hwm"),
        "peak_mib": world.total(memory, "hwm") + world.total(broker, "hwm"),
        "loadavg_before": loadavg_before, "loadavg_after": loadavg_after,
        "mix": dict(world.MIX),
    }  # fmt: skip


def render(result: dict[str, Any], command: str, console: Console) -> None:
    table = Table(title=f"Scale run: {result['subjects']:,} subjects, {result['requests']:,} mixed requests "
                        f"({result['mode']})")  # fmt: skip
    table.add_column("figure")
    table.add_column("value", justify="right")
    generation = "reused" if result["reused"] else f"{result['generation_s']:.0f} s"
    rows = [("demo company", generation), ("accepted / refused", f"{result['accepted']:,} / {result['refused']:,}"),
            ("submit", f"{result['submit_s']:.0f} s ({result['submit_per_s']:.0f}/s)"),
            ("answered on audit's timeline", f"{result['answered']:,}"
             + ("" if result["drained"] else " [red](not all before the deadline)[/]")),
            ("time to drain (first submit → last answered)", f"{result['drain_s']:.0f} s"),
            ("load average before / after", f"{result['loadavg_before']} / {result['loadavg_after']}")]  # fmt: skip
    for name, figures in {**result["memory"], **result["broker"]}.items():
        rows.append((f"peak RSS (VmHWM) {name}", f"{figures['hwm']} MiB"))
    rows.append(("peak RSS, services", f"{result['services_peak_mib']:.1f} MiB"))
    rows.append(("peak RSS, services + broker", f"{result['peak_mib']:.1f} MiB"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    targets = Table(title="Issue 18, target 6: the scale run")
    for column in ("figure", "value", "floor", "previous", "target"):
        targets.add_column(column, justify="left" if column == "figure" else "right")
    figures = {"scale.drain_s": result["drain_s"] if result["drained"] else None, "scale.peak_rss": result["peak_mib"]}
    for key, value in figures.items():
        target = TARGETS[key]
        unit = f" {target.unit}"
        last = previous(key)
        targets.add_row(target.label, "—" if value is None else f"{value:,.0f}{unit}", "—",
                        "—" if last is None else f"{last:,.0f}{unit}",
                        "report only" if target.target is None else f"{target.target:,.0f}{unit}")  # fmt: skip
        record(key, value, command)
    console.print(targets)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--subjects", type=int, default=1_000_000, help="demo company size (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=100_000, help="mixed requests queued (default 100,000)")
    parser.add_argument("--all-in-one", action="store_true", help="the services as `ccpa serve all`")
    parser.add_argument("--drain-timeout", type=float, default=6 * 3600, help="seconds to wait for the drain")
    args = parser.parse_args(argv)
    command = f"python -m bench.scale --subjects {args.subjects} --requests {args.requests}" + (
        " --all-in-one" if args.all_in_one else ""
    )

    def run(console: Console) -> None:
        result = run_scale(args.subjects, args.requests, args.all_in_one, args.drain_timeout, console)
        render(result, command, console)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"command": command, **result}, indent=2) + "\n")
        console.print(f"[bold]json[/]: {RESULTS}")

    return infra.console_main(run, "the services, the broker, Redis and PostgreSQL")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
