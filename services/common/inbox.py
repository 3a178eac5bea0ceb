"""Inbox table: each consumer applies an event at most once, deduplicated by event_id in its own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from services.common.db import UtcDateTime, insert_for


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
    )


def claim(conn: sa.Connection, inbox: sa.Table, consumer: str, event_id: str) -> bool:
    """True if this consumer has not seen the event before; the claim commits with the handler's effects."""
    statement = insert_for(conn, inbox).values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
    # RETURNING, not rowcount: drivers report -1 for a skipped or even a done INSERT ... ON CONFLICT.
    inserted = statement.on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id)
    return conn.execute(inserted).first() is not None
