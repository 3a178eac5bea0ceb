"""The discovery worker's loop keeps its walk slots full: a slow walk does not hold back the runs claimed after it.
The run store and the walk are stand-ins here; the loop (claiming, slots, wake-ups) is the real one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from services.discovery.worker import DiscoveryWorker


class QueuedRuns:
    """Pending runs handed out in order, at most `limit` per claim, each once."""

    def __init__(self, names: list[str]) -> None:
        self.pending = list(names)
        self.limits: list[int] = []
        self.lock = threading.Lock()
        self.leases = SimpleNamespace(heartbeat=contextlib.nullcontext)

    def claim(self, limit: int) -> list[Any]:
        with self.lock:
            self.limits.append(limit)
            taken, self.pending = self.pending[:limit], self.pending[limit:]
        return [SimpleNamespace(request_id=name) for name in taken]


def worker_over(runs: QueuedRuns, slots: int, walk: Any) -> DiscoveryWorker:
    worker = DiscoveryWorker.__new__(DiscoveryWorker)
    worker.runs = runs  # type: ignore[assignment]
    worker.settings = SimpleNamespace(concurrent_requests=slots, poll_seconds=5.0)  # type: ignore[assignment]
    worker.pool = ThreadPoolExecutor(slots)
    worker.wakeup = threading.Event()
    worker.reports = SimpleNamespace(purge_expired=lambda: 0)  # type: ignore[assignment]
    worker.last_loop_at = datetime.now(UTC)
    worker.process_safely = walk  # type: ignore[method-assign]
    return worker


@contextlib.contextmanager
def running(worker: DiscoveryWorker) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        worker.wakeup.set()
        thread.join(10)
        assert not thread.is_alive()


def test_runs_queued_behind_a_slow_walk_are_walked_while_it_is_still_running() -> None:
    release_slow = threading.Event()
    walked: list[str] = []

    def walk(run: Any) -> None:
        if run.request_id == "slow":
            release_slow.wait(10)
        walked.append(run.request_id)

    runs = QueuedRuns(["slow", "a", "b", "c", "d", "e"])
    with running(worker_over(runs, slots=2, walk=walk)):
        deadline = time.monotonic() + 5
        while len(walked) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Two slots: "slow" holds one the whole time; the five others went through the other, one after another.
        assert walked == ["a", "b", "c", "d", "e"]
        release_slow.set()
        deadline = time.monotonic() + 5
        while len(walked) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert walked[-1] == "slow"
    assert max(runs.limits) == 2 and all(limit >= 1 for limit in runs.limits)


def test_never_more_walks_at_once_than_slots() -> None:
    at_once, most = 0, 0
    lock = threading.Lock()

    def walk(_run: Any) -> None:
        nonlocal at_once, most
        with lock:
            at_once += 1
            most = max(most, at_once)
        time.sleep(0.02)
        with lock:
            at_once -= 1

    runs = QueuedRuns([f"r{i}" for i in range(20)])
    with running(worker_over(runs, slots=3, walk=walk)):
        deadline = time.monotonic() + 10
        while runs.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    assert not runs.pending
    assert most == 3
