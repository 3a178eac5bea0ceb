"""Read side of audit for consent: one subject key's consent changes (GPC, product events; with or without a
request) in timeline order, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.common.event_types import EventType

DEFAULT_PAGE = 100
MAX_PAGE = 1000

t = orm.timeline
ORDER = (t.c.occurred_at, t.c.topic, t.c.partition, t.c.offset)


class UnknownCursor(LookupError):
    """The cursor names no consent change of this subject."""


@dataclass(frozen=True)
class ConsentPage:
    changes: list[dict[str, Any]]
    next_cursor: str | None

    def body(self, subject_key: str) -> dict[str, Any]:
        return {"subject_key": subject_key, "changes": self.changes, "next_cursor": self.next_cursor}


def history(engine: sa.Engine, subject_key: str, limit: int = DEFAULT_PAGE,
            cursor: str | None = None) -> ConsentPage | None:  # fmt: skip
    """A page of the subject's consent changes after the cursor (an event id from the previous page); None when
    audit holds no consent change of this subject."""
    of_subject = sa.and_(t.c.subject_key == subject_key, t.c.event_type == EventType.CONSENT_CHANGED.value)
    with engine.connect() as conn:
        if conn.execute(sa.select(t.c.event_id).where(of_subject).limit(1)).first() is None:
            return None
        query = sa.select(t).where(of_subject)
        if cursor is not None:
            query = query.where(sa.tuple_(*ORDER) > _position(conn, of_subject, cursor))
        rows = conn.execute(query.order_by(*ORDER).limit(limit + 1)).all()
    page = [change_of(row) for row in rows[:limit]]
    return ConsentPage(page, page[-1]["event_id"] if len(rows) > limit else None)


def _position(conn: sa.Connection, of_subject: sa.ColumnElement[bool], cursor: str) -> sa.Tuple:
    found = conn.execute(sa.select(*ORDER).where(of_subject, t.c.event_id == cursor)).first()
    if found is None:
        raise UnknownCursor("the cursor names no consent change of this subject: start again without it")
    return sa.tuple_(*(sa.literal(value, column.type) for value, column in zip(found, ORDER, strict=True)))


def change_of(row: sa.Row[Any]) -> dict[str, Any]:
    """One change as the timeline shows it: what changed (sealed identifiers left out at ingest), who said so,
    and where on the topics it came from."""
    return {
        "event_id": row.event_id,
        "request_id": row.request_id,
        "occurred_at": row.occurred_at.isoformat(),
        "producer": row.producer,
        "details": row.details,
        "source": {"topic": row.topic, "partition": row.partition, "offset": row.offset},
    }
