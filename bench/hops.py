"""The access request split into hops by the clocks that exist (issue 18, target 2), from audit's timeline.

Clocks used, all on one machine: the client's wall clock when it sent the POST and when intake's status first
showed the report link; intake's `received_at` (on RequestSubmitted); each event's `occurred_at`, stamped by its
producer: RequestSubmitted (intake, with the commit of the request and its outbox row; equal to received_at),
DiscoveryStarted (discovery's consumer, when it opened the run), DiscoveryCompleted (discovery, after the walk and
the report's build and seal), ReportReady (discovery, when the sealed report rows are stored). No clock separates
the worker's claim, the walk and the report build: the bench measures the walk on its own (the same adapter and
data map in-process, `walk_s`) and counts the rest of that hop as non-store time.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

# (hop, from clock, to clock); "sent" and "seen" are the client's wall clock, "received" intake's received_at.
HOPS = (
    ("client → intake receipt (HTTP)", "sent", "received"),
    ("intake: verify + commit", "received", "RequestSubmitted"),
    ("relay → topic → discovery consumer (run opened)", "RequestSubmitted", "DiscoveryStarted"),
    ("worker claim + walk + report build and seal", "DiscoveryStarted", "DiscoveryCompleted"),
    ("report rows stored (ReportReady)", "DiscoveryCompleted", "ReportReady"),
    ("ReportReady → topic → intake applied → visible", "ReportReady", "seen"),
)


def clocks(entries: list[dict[str, Any]], sent: float, seen: float) -> dict[str, float]:
    """Every clock of one request, epoch seconds: the first entry of each event type, and the client's two."""
    found = {"sent": sent, "seen": seen}
    for entry in entries:
        found.setdefault(entry["event_type"], _instant(entry["occurred_at"]))
        if entry["event_type"] == "RequestSubmitted" and "received_at" in entry.get("details", {}):
            found["received"] = _instant(entry["details"]["received_at"])
    return found


def split(entries: list[dict[str, Any]], sent: float, seen: float) -> dict[str, float]:
    """Hop → seconds, for the hops whose two clocks are on the timeline."""
    found = clocks(entries, sent, seen)
    return {hop: found[end] - found[start] for hop, start, end in HOPS if start in found and end in found}


def summary(samples: list[dict[str, float]], walk_s: float) -> dict[str, Any]:
    """p50 per hop (ms), and the p50 of each request's hops summed, less the walk measured on its own."""
    per_hop = {hop: statistics.median(s[hop] for s in samples) * 1000 for hop, _, _ in HOPS
               if samples and all(hop in s for s in samples)}  # fmt: skip
    non_store = [(sum(s.values()) - walk_s) * 1000 for s in samples]
    return {"p50_ms": per_hop, "walk_in_process_p50_ms": walk_s * 1000,
            "non_store_p50_ms": statistics.median(non_store) if non_store else 0.0,
            "samples": len(samples)}  # fmt: skip


def render(hops: dict[str, Any], console: Console, title: str) -> None:
    table = Table(title=title)
    table.add_column("hop")
    table.add_column("p50", justify="right")
    for hop, ms in hops["p50_ms"].items():
        table.add_row(hop, f"{ms:.1f} ms")
    table.add_row("of which the walk, timed in-process (same adapter)", f"{hops['walk_in_process_p50_ms']:.1f} ms")
    table.add_row("[bold]non-store: all hops less the walk (p50)[/]", f"{hops['non_store_p50_ms']:.1f} ms")
    console.print(table)


def _instant(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
