"""The figures issue 18 sets targets for, each with the figure measured before it (the "previous" column every
bench prints beside its value and floor) and the target. A bench looks its rows up here by key, so the
previous figure and the target are written once.

Also: the last run's figure. Every bench records what it measured with `record(key, value)` in
`.local/bench/history.json`; `previous(key)` prefers that last run's figure and falls back to the one measured
before issue 18 (`before`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

HISTORY = Path(__file__).resolve().parents[1] / ".local" / "bench" / "history.json"

Unit = Literal["ms", "/s", "MiB", "s", "x"]


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    unit: Unit
    before: float | None  # measured before issue 18 (None: not measured then)
    target: float | None  # the bound issue 18 sets (None: report only)
    higher_is_better: bool = False

    def met(self, value: float | None) -> bool | None:
        if value is None or self.target is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target


TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        # 1. peer schema (bench.peer)
        Target("peer.1k.access_p50", "peer 1k: access submit → report link, p50", "ms", 103.0, 70.0),
        Target("peer.1k.access_p95", "peer 1k: access submit → report link, p95", "ms", None, 150.0),
        Target("peer.100k.access_p50", "peer 100k: access submit → report link, p50", "ms", 230.0, 70.0),
        Target("peer.100k.access_p95", "peer 100k: access submit → report link, p95", "ms", None, 150.0),
        Target("peer.1k.deletion_p50", "peer 1k: deletion submit → verified, p50", "ms", 325.0, 150.0),
        Target("peer.100k.deletion_p50", "peer 100k: deletion submit → verified, p50", "ms", 557.0, 150.0),
        Target("peer.1k.concurrent_rate", "peer 1k: 50 concurrent access requests", "/s", 12.0, 50.0, True),
        Target("peer.100k.concurrent_rate", "peer 100k: 50 concurrent access requests", "/s", 7.5, 50.0, True),
        Target("peer.growth_p50", "peer: access p50 growth 1k → 100k", "x", 2.23, 1.2),
        # 2. hops
        Target("peer.non_store_hops_p50", "peer: sum of the non-store hops, p50", "ms", None, 20.0),
        # 3. log store at 1M demo subjects (bench.discovery)
        Target("demo.1m.know_p50", "demo 1M: know submit → report ready, p50", "ms", 5925.0, 500.0),
        Target("demo.1m.deletion_p50", "demo 1M: deletion submit → verified, p50", "ms", 16294.0, 1000.0),
        # 3b. the opensearch store alone at 1M documents (bench.opensearch_store; the store call, not the pipeline)
        Target("opensearch.1M.know_p50", "opensearch 1M docs: search by email + account id, p50", "ms", None, None),
        Target("opensearch.1M.erase_p50", "opensearch 1M docs: erase (bulk delete, refresh), p50", "ms", None, None),
        Target("opensearch.1M.verify_p50", "opensearch 1M docs: re-search after erase, p50", "ms", None, None),
        # 4. throughput
        Target("demo.100k.queued_deletions", "demo 100k: queued deletions", "/s", 6.7, 30.0, True),
        Target("intake.durable_rate", "intake durable requests/s under load", "/s", 79.9, 500.0, True),
        Target("intake.p99_loaded", "intake p99 under load", "ms", 871.2, 100.0),
        # 5. memory
        Target("memory.all_in_one_rss", "ccpa serve all: peak RSS", "MiB", None, 250.0),
        Target("memory.max_service_rss", "largest single service: peak RSS", "MiB", 131.0, 100.0),
        # 6. scale run (bench.scale)
        Target("scale.drain_s", "scale: 1M subjects, 100k queued mixed requests: time to drain", "s", None, None),
        Target("scale.peak_rss", "scale: peak RSS of the stack", "MiB", None, None),
    )
}


def _history() -> dict[str, dict[str, object]]:
    try:
        loaded = json.loads(HISTORY.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def previous(key: str) -> float | None:
    """The last run's figure for `key`, else the figure measured before issue 18."""
    last = _history().get(key, {}).get("value")
    if isinstance(last, int | float):
        return float(last)
    target = TARGETS.get(key)
    return target.before if target else None


def record(key: str, value: float | None, command: str) -> None:
    """Keep this run's figure as the next run's previous one (atomically replaced)."""
    if value is None:
        return
    history = _history()
    history[key] = {"value": value, "command": command, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=HISTORY.parent, prefix=".history-")
    with os.fdopen(fd, "w") as out:
        json.dump(history, out, indent=2, sort_keys=True)
    os.replace(tmp, HISTORY)
