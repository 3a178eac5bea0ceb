"""`python -m bench.log_erasure`: erasing subjects' lines from the demo company's access logs through the log
index, where the lines really go.

The demo's data map keeps access logs for 90 days under the security exemption, so a deletion in
`bench.discovery` erases no log line. Here a copy of the same logs (two plain files and a one-member `.gz`, about
700 MB at 1M subjects) gets a data map without that exemption. For each sampled device id, in one process:
- search: the lines holding it (what a know request reads from this store);
- erase: those lines dropped (a plain file overwritten in place, the `.gz` rewritten by member);
- verify: the search again, which must find nothing.
The first erasure that meets the one-member `.gz` recompresses it whole, into members; it is reported apart.
Floor: the bare operation on the same lines: pread and pwrite of their bytes and an fsync per file, plus inflating
and compressing again the 1 MiB member that holds each `.gz` line.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import infra
from bench.stats import Summary, summarise
from services.common.datamap import DataMap, parse_datamap
from services.common.stores import logindexed
from services.common.stores.gzmembers import MEMBER_BYTES
from services.common.stores.jsonl import JsonLinesConnector
from services.deletion.erasure import plan_erasure
from services.deletion.erasure.jsonl import JsonLinesEraser

DATA_DIR = infra.REPO_ROOT / ".local" / "bench"
RESULTS = DATA_DIR / "log_erasure.json"
FILES = ("access.log", "access.log.1", "access.log.2.gz")
LINE_BYTES = 300  # about one demo access-log line: what the floor reads and writes back per line


@dataclass
class Result:
    subjects: int
    log_bytes: int
    cold_build_s: float
    lines_erased: int
    search: Summary
    erase: Summary
    verify: Summary
    first_gz_erase_s: float | None
    floor: Summary


def datamap(folder: Path) -> DataMap:
    """The demo's access-log collection, without its retention: matching lines are dropped."""
    return parse_datamap(
        "business: Bench\nstores:\n  - name: web-logs\n    kind: jsonl\n    collections:\n      - name: access\n"
        f"        path: {folder}/access.log*\n        timestamp_field: ts\n        fields:\n"
        "          - {name: ts, category: F}\n          - {name: ip, category: A, identifies: ip_address}\n"
        "          - {name: device_id, category: A, identifies: device_id}\n          - {name: path, category: F}\n",
        "bench-logs.yaml",
    )  # fmt: skip


def sample_devices(folder: Path, count: int, seed: int = 5) -> list[str]:
    """Device ids of lines at random offsets of the current log (each subject writes to every rotation)."""
    rng, path = random.Random(seed), folder / "access.log"
    size, devices = path.stat().st_size, list[str]()
    with path.open("rb") as stream:
        while len(devices) < count:
            stream.seek(rng.randrange(0, max(size - 4096, 1)))
            stream.readline()
            device = json.loads(stream.readline()).get("device_id")
            if device and device not in devices:
                devices.append(device)
    return devices


def floor_for(hits: dict[Path, list[tuple[int, int]]], member: bytes) -> float:
    """pread + pwrite of each line's bytes and an fsync per plain file; a member (`member`, compressed) inflated and
    compressed again per .gz line: what an erasure of those lines must do at least."""
    started = time.perf_counter()
    for path, lines in hits.items():
        if path.suffix == ".gz":
            for _ in lines:
                gzip.compress(gzip.decompress(member), compresslevel=6)
            continue
        descriptor = os.open(path, os.O_RDWR)
        try:
            for offset, length in lines:
                os.pwrite(descriptor, os.pread(descriptor, length, offset), offset)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return time.perf_counter() - started


def run(subjects: int, samples: int, console: Console) -> Result:
    source = DATA_DIR / f"demo-{subjects}" / "logs"
    if not all((source / name).is_file() for name in FILES):
        raise SystemExit(f"no demo logs at {source}: run `python -m bench.discovery --subjects {subjects}` first")
    work = DATA_DIR / f"log-erasure-{subjects}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    console.log(f"copying the {subjects:,}-subject demo logs")
    for name in FILES:
        shutil.copy2(source / name, work / "logs" / name)
    os.environ["CCPA_LOG_INDEX_DIR"] = str(work / "index")
    os.environ["CCPA_SUBJECT_KEY_SECRET"] = base64.b64encode(b"bench-log-erasure-subject-key-32").decode()
    logindexed.close_all()
    dm = datamap(work / "logs")
    store = dm.store("web-logs")
    assert store is not None
    connector, eraser = JsonLinesConnector(dm, store), JsonLinesEraser(dm, store, b"k" * 32)
    devices = sample_devices(work / "logs", samples)
    with (work / "logs" / "access.log").open("rb") as stream:  # a member's worth of real lines, for the floor
        member = gzip.compress(stream.read(MEMBER_BYTES), compresslevel=6)
    console.log("cold index build (the first search)")
    started = time.perf_counter()
    connector.search({"device_id": frozenset(["not-a-device"])})
    cold = time.perf_counter() - started
    later = datetime.now(UTC) + timedelta(days=3650)
    searched, erased, verified, floors, first_gz, lines = [], [], [], [], None, 0
    console.log(f"{len(devices)} subjects: search, erase, search again")
    for device in devices:
        wanted = {"device_id": frozenset([device])}
        started = time.perf_counter()
        found = connector.search(wanted)
        after_search = time.perf_counter()
        [store_plan] = plan_erasure(dm, wanted, now=later).stores
        outcome = eraser.erase(store_plan)
        after_erase = time.perf_counter()
        left = connector.search(wanted)
        done = time.perf_counter()
        assert not left, f"{len(left)} lines left after the erasure"
        assert sum(outcome.counts.get("access", {}).values()) == len(found) > 0, (outcome.counts, len(found))
        lines += len(found)
        by_file: dict[Path, list[tuple[int, int]]] = {}
        for record in found:
            name, _, offset = record.locator.partition("@")
            by_file.setdefault(work / "logs" / name, []).append((int(offset), LINE_BYTES))
        gz_first = first_gz is None and any(path.suffix == ".gz" for path in by_file)
        if gz_first:
            first_gz = after_erase - after_search
        else:
            erased.append(after_erase - after_search)
            floors.append(floor_for(by_file, member))
        searched.append(after_search - started)
        verified.append(done - after_erase)
    logindexed.close_all()
    size = sum((work / "logs" / name).stat().st_size for name in FILES)
    shutil.rmtree(work)
    return Result(subjects, size, cold, lines, summarise(searched), summarise(erased), summarise(verified),
                  first_gz, summarise(floors))  # fmt: skip


def render(result: Result, console: Console) -> None:
    title = (f"Log erasure through the index: {result.subjects:,} demo subjects, {result.log_bytes / 1e6:,.0f} MB "
             f"of logs on disk, {result.lines_erased:,} lines erased")  # fmt: skip
    table = Table(title=title)
    for column in ("figure", "p50", "p99", "floor p50"):
        table.add_column(column, justify="right")
    table.add_row("search (the lines of one subject)", _ms(result.search.p50), _ms(result.search.p99), "")
    table.add_row("erase", _ms(result.erase.p50), _ms(result.erase.p99), _ms(result.floor.p50))
    table.add_row("verify (the search again)", _ms(result.verify.p50), _ms(result.verify.p99), "")
    if result.first_gz_erase_s is not None:
        table.add_row("first erase in the one-member .gz (recompressed into members)",
                      _ms(result.first_gz_erase_s), "", "")  # fmt: skip
    table.add_row("cold index build", f"{result.cold_build_s:.1f} s", "", "")
    console.print(table)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.log_erasure", description=__doc__)
    parser.add_argument("--subjects", type=int, default=1_000_000, help="the demo size whose logs are used")
    parser.add_argument("--samples", type=int, default=20, help="subjects erased (default 20)")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    result = run(args.subjects, args.samples, console)
    render(result, console)
    RESULTS.write_text(json.dumps(asdict(result), indent=2) + "\n")
    console.print(f"[bold]json[/]: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
