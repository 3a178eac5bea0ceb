"""The deadline watch: each tick announces the clocks that crossed (through audit's outbox, in the transaction that
records the announcement) and sets the open-request gauges from audit's database."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.audit.clocks import owner_of
from services.audit.deadlines import (
    Announcement,
    Clock,
    ClockState,
    ClockTimes,
    announcement_id,
    announcements_due,
    crossing,
    state_at,
)
from services.common.db import insert_for
from services.common.events import Event
from services.common.metrics import DEADLINES_ANNOUNCED, OLDEST_OPEN_REQUEST, OPEN_CLOCKS, OPEN_REQUESTS
from services.common.outbox import Outbox
from services.common.payloads.deadlines import DeadlineApproachingPayload, DeadlineMissedPayload
from services.common.request_types import RequestType

log = logging.getLogger(__name__)
PRODUCER = "audit"
ANSWER_CLOCKS = (Clock.RESPOND.value, Clock.OPT_OUT.value)  # a request is open while its answer is not given
BATCH = 1000

clocks = orm.deadline_clocks
records = orm.request_records
announced = orm.deadline_announcements


def _already_set() -> threading.Event:
    ready = threading.Event()
    ready.set()
    return ready


@dataclass
class DeadlineWatch:
    """Ticks every `every` seconds; `skew` moves its clock ahead (tests), and its events' times back by as much."""

    engine: sa.Engine
    outbox: Outbox
    topic: str
    lead: timedelta
    every: float
    skew: timedelta = timedelta(0)
    wakeup: threading.Event = field(default_factory=threading.Event)
    # Set once the timeline consumer has materialised what was on the topics at start-up: before that, an
    # announcement further down privacy.deadlines may not be read back yet, and the watch would announce it again.
    ready: threading.Event = field(default_factory=_already_set)
    last_loop_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def run(self, stop: threading.Event) -> None:
        if not self.ready.is_set():
            log.info("deadline watch waits until the timeline consumer has caught up with the topics")
        while not stop.is_set():
            if not self.ready.wait(1.0):
                self.last_loop_at = datetime.now(UTC)
                continue
            try:
                self.tick(datetime.now(UTC))
            except sa.exc.OperationalError as exc:  # the database away for a moment: the next tick tries again
                log.warning("deadline watch tick skipped", extra={"error_class": type(exc).__name__})
            self.last_loop_at = datetime.now(UTC)
            stop.wait(self.every)

    def tick(self, wall_now: datetime) -> int:
        """Announce what crossed by `wall_now` (plus the skew) and set the gauges; the number of events produced."""
        now = wall_now + self.skew
        with self.engine.begin() as conn:
            produced = sum(self._watch(conn, row, now) for row in conn.execute(self._candidates(now)).all())
        if produced:
            self.wakeup.set()
        with self.engine.connect() as conn:
            self._set_gauges(conn, now)
        return produced

    def _candidates(self, now: datetime) -> sa.Select[Any]:
        cutoff = now + self.lead
        due_by_cutoff = sa.or_(clocks.c.extended_due_at <= cutoff,
                               sa.and_(clocks.c.extended_due_at.is_(None), clocks.c.due_at <= cutoff))  # fmt: skip
        return (
            sa.select(clocks, records.c.request_type)
            .select_from(clocks.outerjoin(records, records.c.request_id == clocks.c.request_id))
            .where(clocks.c.settled.is_(False), clocks.c.due_at.is_not(None), due_by_cutoff)
            .order_by(clocks.c.due_at)
            .limit(BATCH)
        )

    def _watch(self, conn: sa.Connection, row: sa.Row[Any], now: datetime) -> int:
        # A downstream acknowledges a subject's opt-out state, which no request may have asked for: no request type.
        request_type = None if row.clock == Clock.DOWNSTREAM_ACK else row.request_type
        if request_type is None and row.clock != Clock.DOWNSTREAM_ACK:
            return 0  # its RequestSubmitted is not read yet: wait, so every announcement names the request type
        times = ClockTimes(row.extended_due_at or row.due_at, row.satisfied_at, row.started_at)
        wanted = announcements_due(times, now, self.lead)
        produced = sum(self._announce(conn, row, request_type, times, kind) for kind in wanted)
        final = Announcement.MISSED in wanted or (row.satisfied_at is not None and now >= row.satisfied_at)
        if final:
            conn.execute(sa.update(clocks).where(*_unchanged(row)).values(settled=True))
        return produced

    def _announce(self, conn: sa.Connection, row: sa.Row[Any], request_type: str | None, times: ClockTimes,
                  kind: Announcement) -> int:  # fmt: skip
        event = self._event(row, request_type, times, kind)
        mark = {"event_id": event.event_id, "clock_id": row.clock_id, "kind": kind.value, "due_at": times.due_at}
        insert = insert_for(conn, announced).values(**mark).on_conflict_do_nothing()
        if conn.execute(insert.returning(announced.c.event_id)).first() is None:
            return 0  # announced before (by this process, another replica, or read back from the topic)
        self.outbox.add(conn, self.topic, [event])
        DEADLINES_ANNOUNCED.labels(kind.value).inc()
        return 1

    def _event(self, row: sa.Row[Any], request_type: str | None, times: ClockTimes, kind: Announcement) -> Event:
        """The same bytes wherever and whenever built: id and time follow from the clock, never from the tick."""
        owner = owner_of(row.request_id, row.subject_key)
        common = {"clock": row.clock, "item": row.item or None, "due_at": times.due_at,
                  "request_type": request_type}  # fmt: skip
        payload = (DeadlineApproachingPayload(**common, lead_days=self.lead.days) if kind is Announcement.APPROACHING
                   else DeadlineMissedPayload(**common))  # fmt: skip
        return Event(kind.value, row.subject_key, PRODUCER, payload, request_id=row.request_id,
                     event_id=announcement_id(owner, row.clock, row.item, times.due_at, kind),
                     occurred_at=crossing(times, kind, self.lead) - self.skew)  # fmt: skip

    def _set_gauges(self, conn: sa.Connection, now: datetime) -> None:
        open_rows = conn.execute(
            sa.select(clocks, records.c.request_type)
            .select_from(clocks.outerjoin(records, records.c.request_id == clocks.c.request_id))
            .where(clocks.c.due_at.is_not(None), sa.or_(clocks.c.satisfied_at.is_(None), clocks.c.satisfied_at > now))
        ).all()
        by_request: Counter[tuple[str, str]] = Counter()
        by_clock: Counter[tuple[str, str]] = Counter()
        oldest = timedelta(0)
        for row in open_rows:
            state = state_at(ClockTimes(row.extended_due_at or row.due_at), now, self.lead)
            by_clock[(row.clock, state.value)] += 1
            if row.clock in ANSWER_CLOCKS and row.request_type is not None:
                by_request[(row.request_type, state.value)] += 1
                oldest = max(oldest, now - (row.started_at or now))
        for state in ClockState:
            for request_type in RequestType:
                OPEN_REQUESTS.labels(request_type.value, state.value).set(by_request[(request_type.value, state.value)])
            for clock in Clock:
                OPEN_CLOCKS.labels(clock.value, state.value).set(by_clock[(clock.value, state.value)])
        OLDEST_OPEN_REQUEST.set(oldest.total_seconds())


def _unchanged(row: sa.Row[Any]) -> list[sa.ColumnElement[bool]]:
    """The clock as the watch read it: a handler that changed it since keeps it for the next tick."""
    columns = ("due_at", "extended_due_at", "satisfied_at")
    return [clocks.c.clock_id == row.clock_id, *(clocks.c[name].is_not_distinct_from(row._mapping[name])
                                                 for name in columns)]  # fmt: skip
