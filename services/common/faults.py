"""Named crash points for failure tests: CCPA_FAULTS=point[,point] makes the process die there, like kill -9."""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 86


def crash_if(point: str) -> None:
    enabled = os.environ.get("CCPA_FAULTS", "")
    if point in {name.strip() for name in enabled.split(",")}:
        os._exit(CRASH_EXIT_CODE)


def crash_after_count(point: str, count: int) -> None:
    """Die at the point once it has been reached N times (CCPA_FAULT_AFTER=N, default 1)."""
    if count >= int(os.environ.get("CCPA_FAULT_AFTER", "1")):
        crash_if(point)
