"""The queue's answered count per (type, channel), moved by one whenever a request enters or leaves the answered
part of the queue: by the derived response step, a snapshot restore and a purge, so it always equals a count of
request_records, without reading them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.common.db import insert_for

tallies = orm.queue_tallies


@dataclass(frozen=True)
class Counted:
    """Where a record sits in the tallies: its key, if it is counted (answered, with a due date)."""

    request_type: str | None
    channel: str | None
    answered: bool
    due_at: datetime | None

    @property
    def key(self) -> tuple[str, str] | None:
        counted = self.answered and self.due_at is not None and self.request_type and self.channel
        return (str(self.request_type), str(self.channel)) if counted else None


def counted_of(row: Any) -> Counted | None:
    return None if row is None else Counted(row.request_type, row.channel, bool(row.answered), row.due_at)


def move(conn: sa.Connection, before: Counted | None, after: Counted | None) -> None:
    """One record changed from `before` to `after` (None: absent)."""
    old, new = before.key if before else None, after.key if after else None
    if old != new:
        if old is not None:
            add(conn, old, -1)
        if new is not None:
            add(conn, new, 1)


def add(conn: sa.Connection, key: tuple[str, str], delta: int) -> None:
    insert = insert_for(conn, tallies).values(request_type=key[0], channel=key[1], answered=delta)
    conn.execute(insert.on_conflict_do_update(index_elements=["request_type", "channel"],
                                              set_={"answered": tallies.c.answered + delta}))  # fmt: skip


def forget(conn: sa.Connection, request_ids: Sequence[str]) -> None:
    """Records about to be deleted (a purge): take them out of the tallies."""
    records = orm.request_records.c
    for start in range(0, len(request_ids), 500):
        rows = conn.execute(
            sa.select(records.request_type, records.channel, sa.func.count())
            .where(records.request_id.in_(request_ids[start : start + 500]), records.answered.is_(True),
                   records.due_at.is_not(None))
            .group_by(records.request_type, records.channel)
        ).all()  # fmt: skip
        for request_type, channel, count in rows:
            add(conn, (request_type, channel), -int(count))


def answered(conn: sa.Connection, request_types: Sequence[str] | None, channel: str | None) -> int:
    """The answered requests of these types (None: all) on this channel (None: all)."""
    where: list[sa.ColumnElement[bool]] = [tallies.c.request_type.in_(request_types)] if request_types else []
    where += [tallies.c.channel == channel] if channel else []
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(tallies.c.answered), 0)).where(*where))
               .scalar_one())  # fmt: skip
