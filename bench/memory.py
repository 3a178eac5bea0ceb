"""Memory of the pipeline (`python -m bench.memory`): RSS of every service as separate processes and of `ccpa serve
all`, idle and after a load of mixed requests, beside the broker's; VmRSS now and VmHWM (the peak) from /proc."""

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

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "memory.json"
SETTLE_SECONDS = 5.0


def measure_mode(stack: infra.Infra, redis: RedisServer, subjects: int, requests: int, all_in_one: bool,
                 console: Console) -> dict[str, Any]:  # fmt: skip
    """One way of running the services: memory idle, then after `requests` mixed requests are answered."""
    with world.demo_world(stack, redis, subjects, all_in_one) as built:
        time.sleep(SETTLE_SECONDS)
        pids = built.processes()
        idle = world.memory_of(pids)
        people = world.sample_people(built.target.app_db_url, subjects, requests)
        started = time.monotonic()
        ids, refused = world.submit_all(built.pipeline, world.mixed_requests(people, requests))
        answered, drain_s = world.wait_answered(built.pipeline, len(ids), timeout=600, progress=console.log)
        loaded = world.memory_of(pids)
        broker = world.memory_of({f"broker {n}": pid for n, pid in enumerate(stack.broker_pids())})
    mode = "all-in-one" if all_in_one else "separate"
    console.log(f"{mode}: {len(ids)} accepted, {refused} refused, {answered} answered in "
                f"{time.monotonic() - started:.0f} s")  # fmt: skip
    return {"mode": mode, "idle": idle, "loaded": loaded, "broker": broker, "accepted": len(ids),
            "refused": refused, "answered": answered, "drain_s": drain_s}  # fmt: skip


def render(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Memory per process (MiB): VmRSS idle, VmRSS and VmHWM (peak) after the load")
    for column in ("mode", "process", "idle RSS", "loaded RSS", "peak (HWM)"):
        table.add_column(column, justify="right" if column not in ("mode", "process") else "left")
    for result in results:
        for name, figures in result["loaded"].items():
            table.add_row(result["mode"], name, _mib(result["idle"][name]["rss"]), _mib(figures["rss"]),
                          _mib(figures["hwm"]))  # fmt: skip
        idle, loaded = result["idle"], result["loaded"]
        table.add_row(result["mode"], "[bold]total[/]", _mib(world.total(idle, "rss")),
                      _mib(world.total(loaded, "rss")), _mib(world.total(loaded, "hwm")))  # fmt: skip
        for name, figures in result["broker"].items():
            table.add_row(result["mode"], name, "", _mib(figures["rss"]), _mib(figures["hwm"]))
    console.print(table)


def targets_table(figures: dict[str, float | None], command: str, console: Console) -> None:
    table = Table(title="Issue 18, target 5: memory")
    for column in ("figure", "value", "floor", "previous", "target", "met"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for key, value in figures.items():
        target = TARGETS[key]
        met = target.met(value)
        table.add_row(target.label, _mib(value), "—", _mib(previous(key)), _mib(target.target),
                      "—" if met is None else ("yes" if met else "[red]no[/]"))  # fmt: skip
        record(key, value, command)
    console.print(table)


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} MiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--subjects", type=int, default=2000, help="demo company size (default 2000)")
    parser.add_argument("--requests", type=int, default=300, help="mixed requests in the load (default 300)")
    parser.add_argument("--modes", default="separate,all-in-one", help="separate, all-in-one or both")
    args = parser.parse_args(argv)
    command = f"python -m bench.memory --subjects {args.subjects} --requests {args.requests}"

    def run(console: Console) -> None:
        results = []
        with infra.infrastructure() as stack:
            redis = RedisServer(stack.work_dir / "redis")
            redis.start()
            try:
                for mode in args.modes.split(","):
                    console.log(f"{mode}: load average {Path('/proc/loadavg').read_text().strip()}")
                    results.append(measure_mode(stack, redis, args.subjects, args.requests, mode == "all-in-one",
                                                console))  # fmt: skip
            finally:
                redis.stop()
        render(results, console)
        by_mode = {result["mode"]: result for result in results}
        figures: dict[str, float | None] = {}
        if "all-in-one" in by_mode:
            figures["memory.all_in_one_rss"] = by_mode["all-in-one"]["loaded"]["all-in-one"]["hwm"]
        if "separate" in by_mode:
            figures["memory.max_service_rss"] = max(f["hwm"] or 0.0 for f in by_mode["separate"]["loaded"].values())
        targets_table(figures, command, console)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        loadavg = Path("/proc/loadavg").read_text().strip()
        RESULTS.write_text(
            json.dumps({"command": command, "loadavg_end": loadavg, "results": results}, indent=2) + "\n"
        )
        console.print(f"[bold]json[/]: {RESULTS}   load average at the end: {loadavg}")

    return infra.console_main(run, "the services, the broker and PostgreSQL")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
