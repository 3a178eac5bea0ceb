"""Liveness windows: a loop that waits long between turns is not reported dead while it waits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from services.common.outbox import Outbox
from services.common.runtime import STALE_AFTER, Worker
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames
from services.optout import orm
from services.optout.overdue import OverdueWatch
from services.optout.settings import OptoutSettings


def running_thread(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    return thread


def test_a_worker_is_alive_within_its_window_and_dead_after_it() -> None:
    stop = threading.Event()
    thread = running_thread(stop)
    turned = datetime.now(UTC) - timedelta(seconds=45)
    try:
        assert not Worker("default", thread, lambda: turned).alive()
        assert Worker("long-wait", thread, lambda: turned, timedelta(seconds=125)).alive()
    finally:
        stop.set()


def watch(interval: float) -> OverdueWatch:
    outbox = Outbox(orm.outbox, SingleObjectCodec())
    return OverdueWatch(sa.create_engine("sqlite://"), outbox, TopicNames(), threading.Event(), interval)


def test_the_overdue_watch_window_covers_its_interval() -> None:
    """Its default interval is 60 s: with the 30 s default window, optout's /healthz failed for half of each minute."""
    assert OptoutSettings.model_fields["overdue_check_seconds"].default == 60.0
    assert watch(60.0).stale_after > timedelta(seconds=60)
    assert watch(1.0).stale_after == STALE_AFTER
