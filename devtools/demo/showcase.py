"""The demo's proof of discovery: fetch a know request's report through its links, show what each store held,
and scan the demo stores for the PI the data map deliberately leaves out."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from devtools.demo.planted import DECOYS, PLANTED_PI
from services.common.datamap import load_datamap
from services.discovery.scanner import ScanOptions, evaluate, scan
from services.discovery.scanner.render import coverage_table

EXTENSIONS = {"json": "json", "csv": "zip", "html": "html"}


def answered(status: Mapping[str, Any]) -> bool:
    """What the demo prints of a know request is there: the report's links and the response sent with them.

    Discovery records ReportReady and the response in two steps, so a status can hold the report a few tens of
    milliseconds before its response: waiting on the report alone read a response that was not there yet."""
    report, response = status.get("report") or {}, status.get("response") or {}
    return bool(report.get("links") and report.get("expires_at") and response.get("summary"))


def responded(status: Mapping[str, Any]) -> bool:
    """Intake knows how the request was answered (it learns it from the topics, after audit may have)."""
    return bool((status.get("response") or {}).get("summary"))


def wait_for_status(intake: httpx.Client, token: str, request_id: str, ready: Callable[[Mapping[str, Any]], bool],
                    timeout: float = 90.0) -> dict[str, Any]:  # fmt: skip
    """The request's status once `ready` holds for it: polled with a deadline, never read before."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = intake.get(f"/v1/requests/{request_id}", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 200:
            status: dict[str, Any] = response.json()
            if ready(status):
                return status
        time.sleep(0.2)
    raise RuntimeError(f"request {request_id}: intake's status not {ready.__name__} after {timeout:.0f}s; "
                       "see the discovery and deletion logs")  # fmt: skip


def wait_for_report(intake: httpx.Client, token: str, request_id: str, timeout: float = 90.0) -> dict[str, Any]:
    return wait_for_status(intake, token, request_id, answered, timeout)


def download_all(status: Mapping[str, Any], out_dir: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Every format through its expiring link, the way the consumer gets it; returns the JSON and the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, report = {}, {}
    for fmt, link in status["report"]["links"].items():
        response = httpx.get(link, timeout=30)
        response.raise_for_status()
        path = out_dir / f"{status['request_id']}.{EXTENSIONS[fmt]}"
        path.write_bytes(response.content)
        path.chmod(0o600)
        paths[fmt] = path
        if fmt == "json":
            report = response.json()
    return report, paths


def print_report(console: Console, status: Mapping[str, Any], report: Mapping[str, Any],
                 paths: Mapping[str, Path]) -> None:  # fmt: skip
    table = Table(title=f"Right to know (specific pieces): {report['summary']}", title_justify="left")
    for column in ("store", "status", "records in period", "collections"):
        table.add_column(column)
    collections = {store["store"]: [c["collection"] for c in store["collections"]]
                   for store in report.get("specific_pieces", [])}  # fmt: skip
    for entry in report["searched"]:
        table.add_row(entry["store"], entry["status"], str(entry["records"]),
                      ", ".join(collections.get(entry["store"], [])))  # fmt: skip
    console.print(table)
    categories = ", ".join(f"{c['code']} {c['name']}" for c in report["categories"])
    console.print(f"  categories: {categories}")
    for withheld in report.get("withheld", []):
        console.print(f"  {withheld['statement']}")
    console.print(f"  response: {status['response']['summary']}")
    console.print(f"  links expire {status['report']['expires_at'][:10]}; saved (mode 0600): "
                  + ", ".join(str(path) for path in paths.values()) + "\n")  # fmt: skip


def scan_demo(console: Console, datamap_path: Path, env: Mapping[str, str]) -> None:
    """`ccpa discover scan` over the demo stores, scored against the columns the demo plants outside the data map."""
    datamap = load_datamap(datamap_path, env)
    result = scan(datamap, ScanOptions(), source=str(datamap_path))
    console.print(coverage_table(result))
    score = evaluate(result, PLANTED_PI, DECOYS)
    found = sorted(f"{f.store}.{f.collection}.{f.field}" for f in result.unmapped_pi)
    console.print(f"[bold]PI scanner: {len(found)} unmapped PI field(s) found; against the {len(PLANTED_PI)} planted "
                  f"ones precision {score.precision:.2f}, recall {score.recall:.2f}, decoys flagged "
                  f"{len(score.decoys_flagged)}; {result.rows_per_second:,.0f} rows/s[/bold]")  # fmt: skip
    console.print("  " + ", ".join(found) + "\n")


def print_answer(console: Console, intake: httpx.Client, token: str, request_id: str, title: str) -> None:
    """What the consumer is told: the status intake shows and how the request was complied with."""
    status = wait_for_status(intake, token, request_id, responded, timeout=30.0)
    response = status["response"]
    console.print(f"[bold]{title}[/bold]: status {status['status']}, {response.get('outcome', 'pending')}")
    console.print(f"  {response.get('summary', '')}\n")
