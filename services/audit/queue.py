"""The operator's queue: every request audit saw submitted, sorted by the due date in force then request id, read a
page at a time with a keyset cursor, filtered by type, status, channel and due date, with its counts.

Pure: the query's rules, the SQL it becomes and the state of an item at `now` (the deadline watch's clock). Every
select here runs on an index of request_records (migration 0006; docs/console.md says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.audit import orm, tallies
from services.audit.records import TYPE_FILTERS, BadRecordQuery, Cursor
from services.common.clocks import receipt_day
from services.common.contracts import CHANNELS

STATUSES = ("open", "overdue", "awaiting_review", "answered", "all")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
MAX_DUE_WITHIN_DAYS = 400
SOON = timedelta(days=7)  # an open request due within a week is due_soon (the watch's default lead)
COUNTS = ("matching", "open", "overdue", "due_within_7_days", "awaiting_review", "answered")
r = orm.request_records.c


@dataclass(frozen=True)
class QueueQuery:
    """Which requests: of a type (or `know`), on a channel, in a status, due within N days (open ones only)."""

    request_type: str | None = None
    status: str = "open"
    channel: str | None = None
    due_within_days: int | None = None

    def __post_init__(self) -> None:
        if self.request_type is not None and self.request_type not in TYPE_FILTERS:
            raise BadRecordQuery("type", f"must be one of {', '.join(TYPE_FILTERS)}")
        if self.status not in STATUSES:
            raise BadRecordQuery("status", f"must be one of {', '.join(STATUSES)}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise BadRecordQuery("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
        if self.due_within_days is not None and not 0 <= self.due_within_days <= MAX_DUE_WITHIN_DAYS:
            raise BadRecordQuery("due_within_days", f"must be between 0 and {MAX_DUE_WITHIN_DAYS}")


def page_size_of(value: int) -> int:
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise BadRecordQuery("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return value


def scope(query: QueueQuery) -> list[sa.ColumnElement[bool]]:
    """The type and channel filters (what the counts are for), on requests audit saw submitted."""
    conditions: list[sa.ColumnElement[bool]] = [r.due_at.is_not(None)]
    if query.request_type is not None:
        types = TYPE_FILTERS[query.request_type]
        conditions.append(r.request_type == types[0] if len(types) == 1 else r.request_type.in_(types))
    if query.channel is not None:
        conditions.append(r.channel == query.channel)
    return conditions


def status_conditions(status: str, now: datetime) -> list[sa.ColumnElement[bool]]:
    """open: not answered (held answers included); overdue: open and past due; awaiting_review: the answer is held
    for review; answered: the consumer has the answer; all: everything."""
    by_status: dict[str, list[sa.ColumnElement[bool]]] = {
        "open": [r.answered.is_(False)],
        "overdue": [r.answered.is_(False), r.due_at < now],
        "awaiting_review": [r.awaiting_review.is_(True)],
        "answered": [r.answered.is_(True)],
        "all": [],
    }
    return by_status[status]


def due_within(days: int, now: datetime) -> list[sa.ColumnElement[bool]]:
    """Open and not yet overdue, due by `now` + `days` days."""
    return [r.answered.is_(False), r.due_at >= now, r.due_at <= now + timedelta(days=days)]


def conditions(query: QueueQuery, now: datetime) -> list[sa.ColumnElement[bool]]:
    within = due_within(query.due_within_days, now) if query.due_within_days is not None else []
    return [*scope(query), *status_conditions(query.status, now), *within]


def page_select(query: QueueQuery, now: datetime, size: int, after: Cursor | None) -> sa.Select[Any]:
    """One page (and one row more, to know there is a next page) in (due_at, request_id) order after `after`."""
    select = sa.select(orm.request_records).where(*conditions(query, now))
    if after is not None:
        select = select.where(sa.tuple_(r.due_at, r.request_id) > sa.tuple_(after.instant, after.request_id))
    return select.order_by(r.due_at, r.request_id).limit(size + 1)


def open_counts_select(query: QueueQuery, now: datetime) -> sa.Select[int, int, int]:
    """open, overdue and due within 7 days in one pass over the open part of the queue index."""
    overdue = r.due_at < now
    soon = sa.and_(r.due_at >= now, r.due_at <= now + SOON)
    return sa.select(sa.func.count(), sa.func.count().filter(overdue), sa.func.count().filter(soon)).where(
        *scope(query), r.answered.is_(False)
    )


def count_select(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(orm.request_records).where(*where)


def state_of(row: Any, now: datetime) -> str:
    """answered (answered_late after the due date), overdue, awaiting_review, due_soon or on_time; overdue comes
    before awaiting_review: a held answer past due is late whoever holds it."""
    if row.responded_at is not None:
        return "answered_late" if row.responded_at > row.due_at else "answered"
    if now > row.due_at:
        return "overdue"
    if row.awaiting_review:
        return "awaiting_review"
    return "due_soon" if row.due_at - now <= SOON else "on_time"


def review_state_of(row: Any) -> str | None:
    """None for a request not under review; else pending until a verdict, then approved or denied."""
    if not row.review_required:
        return None
    return str(row.review_state) if row.review_state else "pending"


def item(row: Any, now: datetime) -> dict[str, Any]:
    """One queue line; days_left in Los Angeles calendar days (negative once overdue)."""
    return {
        "request_id": row.request_id,
        "request_type": row.request_type,
        "channel": row.channel,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
        "extended": row.extended_respond_by is not None,
        "responded_at": _iso(row.responded_at),
        "response_nature": row.response_nature,
        "review_state": review_state_of(row),
        "state": state_of(row, now),
        "days_left": (receipt_day(row.due_at) - receipt_day(now)).days,
    }


def counts(conn: sa.Connection, query: QueueQuery, now: datetime) -> dict[str, int]:
    """The counts of the type and channel filters, and `matching` for the whole query."""
    opened, overdue, soon = conn.execute(open_counts_select(query, now)).one()
    held = conn.execute(count_select(*scope(query), r.awaiting_review.is_(True))).scalar_one()
    types = TYPE_FILTERS[query.request_type] if query.request_type else None
    answered = tallies.answered(conn, types, query.channel)  # most of the table: kept counted, not counted here
    by_status = {"open": opened, "overdue": overdue, "awaiting_review": held, "answered": answered,
                 "all": opened + answered}  # fmt: skip
    matching = (by_status[query.status] if query.due_within_days is None
                else conn.execute(count_select(*conditions(query, now))).scalar_one())  # fmt: skip
    found = {"matching": matching, "open": opened, "overdue": overdue, "due_within_7_days": soon,
             "awaiting_review": held, "answered": answered}  # fmt: skip
    return {name: int(found[name]) for name in COUNTS}


def page(conn: sa.Connection, query: QueueQuery, now: datetime, size: int,
         after: Cursor | None) -> tuple[list[dict[str, Any]], Cursor | None]:  # fmt: skip
    """One page of queue items and the cursor of the next page, if there is one."""
    rows = conn.execute(page_select(query, now, size, after)).all()
    last = rows[size - 1] if len(rows) > size else None
    return [item(row, now) for row in rows[:size]], Cursor(last.due_at, last.request_id) if last else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
