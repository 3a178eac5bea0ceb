"""The reference subscriber's ready file: written once it has caught up with the state topic, never before."""

from __future__ import annotations

import threading
from pathlib import Path

from services.optout.subscriber import mark_ready


def test_the_ready_file_is_written_once_caught_up(tmp_path: Path) -> None:
    caught_up, stop, ready = threading.Event(), threading.Event(), tmp_path / "sub.ready"
    marker = threading.Thread(target=mark_ready, args=(caught_up, stop, ready))
    marker.start()
    assert not ready.exists()
    caught_up.set()
    marker.join(5)
    assert ready.read_text() == "caught up\n"


def test_a_subscriber_stopped_before_catching_up_writes_nothing(tmp_path: Path) -> None:
    caught_up, stop, ready = threading.Event(), threading.Event(), tmp_path / "sub.ready"
    stop.set()
    mark_ready(caught_up, stop, ready)
    assert not ready.exists()
