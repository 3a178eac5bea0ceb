"""bench.proctree: the intake's peak RSS sums its worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import infra, proctree


def test_descendants_walks_the_whole_tree_and_nothing_else() -> None:
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert proctree.descendants(10, parents) == [11, 12, 13]
    assert proctree.descendants(13, parents) == []


def test_descendants_survives_a_cycle_through_the_root() -> None:
    assert proctree.descendants(1, {1: 2, 2: 1}) == [2]


def test_tree_rss_counts_a_live_child() -> None:
    # A child holding ~40 MiB: the tree's figure must exceed the parent's own by at least that.
    code = "b = bytearray(40 * 2**20); import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); input()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert child.pid in proctree.descendants(os.getpid(), proctree.parent_map())
        own, tree = infra.peak_rss_bytes(os.getpid()), proctree.tree_peak_rss_bytes(os.getpid())
        assert own is not None and tree is not None
        assert tree - own >= 40 * 2**20
    finally:
        child.kill()
        child.wait()


def test_tree_rss_of_a_missing_process_is_none() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    time.sleep(0.05)
    assert proctree.tree_peak_rss_bytes(gone.pid) is None
    assert proctree.tree_peak_rss_bytes(None) is None
