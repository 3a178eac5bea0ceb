"""24-month retention's pure rules: what a purge removes, the gaps it leaves in a source chain, and the statement
of each gap (hashes and offsets only) that audit signs so `ccpa audit verify` accepts exactly those gaps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FORMAT = "ccpa-audit-purge/1"


@dataclass(frozen=True)
class RequestAge:
    """A request as the purge sees it: closed or not, and when its last timeline entry occurred."""

    request_id: str
    responded_at: datetime | None
    last_entry_at: datetime


def cutoff(now: datetime, retention_days: int) -> datetime:
    """Entries that occurred before this instant are past retention."""
    return now - timedelta(days=retention_days)


def purgeable(requests: Iterable[RequestAge], before: datetime) -> list[str]:
    """Closed requests (responded to) whose last entry occurred before the cutoff; open ones are kept however old."""
    return sorted(r.request_id for r in requests if r.responded_at is not None and r.last_entry_at < before)


@dataclass(frozen=True)
class SourceLink:
    """An entry's place and links on its source partition's chain."""

    event_id: str
    offset: int
    previous: str
    hash: str


@dataclass(frozen=True)
class Gap:
    """A run of purged entries, adjacent on their source chain."""

    first_offset: int
    last_offset: int
    before: str  # the link before the first purged entry (the previous link it named)
    last: str  # the link of the last purged entry: what the next kept entry names as previous
    entries: int


def gaps(chain: Sequence[SourceLink], purged: set[str]) -> list[Gap]:
    """The maximal runs of purged entries in a source chain given in offset order."""
    runs: list[list[SourceLink]] = []
    for index, linked in enumerate(chain):
        if linked.event_id not in purged:
            continue
        if index and chain[index - 1].event_id in purged and runs:
            runs[-1].append(linked)
        else:
            runs.append([linked])
    return [Gap(run[0].offset, run[-1].offset, run[0].previous, run[-1].hash, len(run)) for run in runs]


def source_statement(topic: str, partition: int, gap: Gap, purged_at: str) -> dict[str, Any]:
    return {"format": FORMAT, "chain": "source", "topic": topic, "partition": partition,
            "first_offset": gap.first_offset, "last_offset": gap.last_offset, "before": gap.before,
            "last": gap.last, "entries": gap.entries, "purged_at": purged_at}  # fmt: skip


def request_statement(request_id: str, head: str, entries: int, purged_at: str) -> dict[str, Any]:
    """A request's whole chain was purged: its last link and length, as a checkpoint would have signed them."""
    return {"format": FORMAT, "chain": "request", "request_id": request_id, "head": head, "entries": entries,
            "purged_at": purged_at}  # fmt: skip
