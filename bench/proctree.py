"""A process and its descendants, from /proc: the intake's peak RSS with `--workers N` is the parent's plus its
workers' (multiprocessing `spawn` children), not the supervising parent's alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from bench import infra

PROC = Path("/proc")


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    """Every pid below `root` in a pid → parent-pid map, breadth first (root excluded)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        below = sorted(pid for parent in frontier for pid in children.get(parent, []) if pid != root)
        found.extend(below)
        frontier = below
    return found


def parent_map(proc: Path = PROC) -> dict[int, int]:
    """pid → parent pid of every live process (PPid in /proc/PID/status); processes gone meanwhile are skipped."""
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and (ppid := _ppid(entry / "status")) is not None:
            parents[int(entry.name)] = ppid
    return parents


def tree_peak_rss_bytes(pid: int | None) -> int | None:
    """Sum of VmHWM over the process and its descendants. Each process's own peak, so the sum is an upper bound
    of the tree's simultaneous peak; None when the root is unreadable."""
    if pid is None:
        return None
    root = infra.peak_rss_bytes(pid)
    if root is None:
        return None
    return root + _sum(infra.peak_rss_bytes(child) for child in descendants(pid, parent_map()))


def _sum(values: Iterable[int | None]) -> int:
    return sum(value for value in values if value is not None)


def _ppid(status: Path) -> int | None:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
