"""The local stack's start-up check of a background process: no HTTP readiness, a ready file instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools.local.stack import LocalStack, ServiceSpec


def start_and_wait(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    stack = LocalStack(tmp_path)
    # `python -m json.tool` stands in for a background service; its arguments make it end as the test needs.
    spec = ServiceSpec("background", "", 0, "json.tool", arguments)
    stack._start(spec, dict(os.environ))
    stack._wait_ready(spec, timeout=5)


def test_a_background_process_that_exits_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"background exited with code 2 during start-up; see .*background\.log"):
        start_and_wait(tmp_path, ("--no-such-option",))


def test_a_background_process_must_keep_running_for_a_moment_to_count_as_started(tmp_path: Path) -> None:
    """json.tool on a file exits 0 at once: before, a single check right after the start could pass it."""
    document = tmp_path / "empty.json"
    document.write_text("{}")
    with pytest.raises(RuntimeError, match="background exited with code 0 during start-up"):
        start_and_wait(tmp_path, (str(document),))


def test_a_background_process_that_never_says_it_is_ready_is_refused(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path)
    spec = ServiceSpec("silent", "", 0, "http.server", ("--bind", "127.0.0.1", "0"))  # runs, never writes the file
    stack._start(spec, dict(os.environ))
    try:
        with pytest.raises(RuntimeError, match="silent not ready after 1s"):
            stack._wait_ready(spec, timeout=1)
    finally:
        stack.started["silent"].kill()
        stack.started["silent"].wait()
