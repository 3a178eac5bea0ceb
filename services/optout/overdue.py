"""Finds downstream acknowledgements past their deadline and reports each once on the timeline."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa

from services.common.event_types import EventType
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.payloads.consent import PropagationOverduePayload
from services.common.runtime import STALE_AFTER
from services.common.topics import OPTOUT_RESULTS, TopicNames
from services.optout import orm

log = logging.getLogger(__name__)


class OverdueWatch:
    def __init__(self, engine: sa.Engine, outbox: Outbox, topics: TopicNames, wake_relay: threading.Event,
                 interval: float) -> None:  # fmt: skip
        self.engine = engine
        self.outbox = outbox
        self.topics = topics
        self.wake_relay = wake_relay
        self.interval = interval
        self.last_loop_at = datetime.now(UTC)

    @property
    def stale_after(self) -> timedelta:
        """Its liveness window: two intervals, so /healthz does not fail while it waits for its next turn."""
        return max(STALE_AFTER, timedelta(seconds=2 * self.interval + 5))

    def report_overdue(self, now: datetime) -> int:
        acks = orm.pending_acks
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(acks).where(acks.c.acknowledged_at.is_(None), acks.c.overdue_reported_at.is_(None),
                                      acks.c.acknowledge_by < now).with_for_update(skip_locked=True)
            ).all()  # fmt: skip
            for row in rows:
                self.outbox.add(conn, self.topics(OPTOUT_RESULTS), [_overdue_event(row, now)])
                conn.execute(sa.update(acks).where(acks.c.subject_key == row.subject_key, acks.c.version == row.version,
                                                   acks.c.downstream == row.downstream)
                             .values(overdue_reported_at=now))  # fmt: skip
        if rows:
            self.wake_relay.set()
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.last_loop_at = datetime.now(UTC)
            try:
                self.report_overdue(self.last_loop_at)
            except Exception:
                log.exception("overdue check failed; it runs again next interval")
            stop.wait(self.interval)


def _overdue_event(row: sa.Row[tuple[object, ...]], now: datetime) -> Event:
    payload = PropagationOverduePayload(downstream=str(row.downstream), state_version=cast(int, row.version),
                                        acknowledge_by=cast(datetime, row.acknowledge_by))  # fmt: skip
    return Event(EventType.PROPAGATION_OVERDUE, str(row.subject_key), "optout", payload,
                 request_id=cast(str | None, row.request_id), occurred_at=now)  # fmt: skip
