"""The console's dashboard: open requests overdue and due this week by type, the weekly throughput (Monday to
Sunday, Los Angeles dates), and the recipients' and downstream systems' confirmation backlogs.

Every figure is a count over an index (migration 0006): a handful of small queries, whatever the table's size.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.audit import orm, recipients
from services.audit.deadlines import Clock
from services.audit.records import start_of_day
from services.common.clocks import receipt_day
from services.common.request_types import RequestType

DEFAULT_WEEKS, MAX_WEEKS = 12, 52
r = orm.request_records.c
clocks = orm.deadline_clocks.c


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def week_starts(now: datetime, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks, oldest first, this week (in Los Angeles) last."""
    this_week = week_start(receipt_day(now))
    return [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def by_type(conn: sa.Connection, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Open requests per type: overdue at `now`, and due from `now` to the end of this week (Sunday, Los Angeles)."""
    week_end = start_of_day(week_start(receipt_day(now)) + timedelta(weeks=1))
    overdue, due = {}, {}
    for request_type in RequestType:
        late, this_week = conn.execute(
            sa.select(sa.func.count().filter(r.due_at < now), sa.func.count().filter(r.due_at >= now)).where(
                r.request_type == request_type.value, r.answered.is_(False), r.due_at < week_end
            )
        ).one()
        overdue[request_type.value], due[request_type.value] = int(late), int(this_week)
    return overdue, due


def _weekly(conn: sa.Connection, column: sa.ColumnElement[Any], starts: list[date]) -> list[int]:
    edges = [start_of_day(day) for day in [*starts, starts[-1] + timedelta(weeks=1)]]
    counts = [sa.func.count().filter(column >= edges[i], column < edges[i + 1]) for i in range(len(starts))]
    row = conn.execute(sa.select(*counts).where(column >= edges[0], column < edges[-1])).one()
    return [int(value) for value in row]


def throughput(conn: sa.Connection, now: datetime, weeks: int) -> list[dict[str, Any]]:
    """Per week: requests received, and requests answered (by the §7101 date of response)."""
    starts = week_starts(now, weeks)
    received, answered = _weekly(conn, r.received_at, starts), _weekly(conn, r.responded_at, starts)
    return [{"week_start": day.isoformat(), "received": got, "answered": done}
            for day, got, done in zip(starts, received, answered, strict=True)]  # fmt: skip


def downstream(conn: sa.Connection, now: datetime) -> dict[str, int]:
    """Opt-out states applied and not yet acknowledged: one per downstream system and state version expected by an
    OptOutApplied with no OptOutAcknowledged; overdue once past its acknowledge-by (moved by PropagationOverdue)."""
    waiting, late = conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(clocks.due_at < now)).where(
            clocks.clock == Clock.DOWNSTREAM_ACK.value, clocks.satisfied_at.is_(None), clocks.due_at.is_not(None)
        )
    ).one()
    return {"awaiting": int(waiting), "overdue": int(late)}


def dashboard(conn: sa.Connection, now: datetime, weeks: int) -> dict[str, Any]:
    overdue, due = by_type(conn, now)
    return {
        "now": now.isoformat(),
        "overdue_by_type": overdue,
        "due_this_week_by_type": due,
        "throughput": throughput(conn, now, weeks),
        "recipients": recipients.backlog(conn),
        "downstream": downstream(conn, now),
        "weeks": "Monday to Sunday, America/Los_Angeles calendar dates",
    }
