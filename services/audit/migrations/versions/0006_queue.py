"""Revision 0006: the console's queue and dashboard, and review before send: each answer's own facts beside the
derived §7101 response, the due date in force and the queue's flags (backfilled), their indexes, the queue's
answered tallies and the recipients' instructions (backfilled from the timeline)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0006"
down_revision = "0005"

FACTS = (
    ("review_required", sa.Boolean()), ("completed_at", UtcDateTime()), ("completed_nature", sa.String(length=32)),
    ("denied_at", UtcDateTime()), ("denied_nature", sa.String(length=32)), ("denied_code", sa.String(length=32)),
    ("denied_basis", sa.Text()), ("review_state", sa.String(length=16)), ("reviewed_at", UtcDateTime()),
    ("review_reason", sa.Text()), ("due_at", UtcDateTime()),
)  # fmt: skip
QUEUE_INDEXES = {
    "ix_request_records_responded": ["responded_at"],
    "ix_request_records_queue": ["answered", "due_at", "request_id"],
    "ix_request_records_queue_type": ["request_type", "answered", "due_at", "request_id"],
    "ix_request_records_queue_channel": ["channel", "answered", "due_at", "request_id"],
    "ix_request_records_queue_review": ["awaiting_review", "due_at", "request_id"],
}
RECIPIENT_EVENTS = {"ProviderInstructed": "instructed_at", "ProviderConfirmed": "confirmed_at",
                    "ProviderOverdue": "overdue_at"}  # fmt: skip
WAITING_OUTCOMES = ("delivered", "manual", "failed")  # as services/audit/recipients.py, frozen at this revision


def upgrade() -> None:
    with op.batch_alter_table("request_records", schema=None) as batch_op:
        for name, kind in FACTS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.add_column(sa.Column("answered", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("awaiting_review", sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill_records()
    with op.batch_alter_table("request_records", schema=None) as batch_op:
        for name, columns in QUEUE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("deadline_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_deadline_clocks_backlog", ["clock", "satisfied_at", "due_at"], unique=False)
    op.create_table(
        "recipient_instructions",
        sa.Column("instruction_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("instructed_at", UtcDateTime(), nullable=True),
        sa.Column("overdue_at", UtcDateTime(), nullable=True),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("awaiting", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("instruction_id"),
    )
    with op.batch_alter_table("recipient_instructions", schema=None) as batch_op:
        batch_op.create_index("ix_recipient_instructions_backlog", ["awaiting", "recipient", "overdue_at"],
                              unique=False)  # fmt: skip
        batch_op.create_index("ix_recipient_instructions_request", ["request_id"], unique=False)
    _backfill_instructions()
    op.create_table(
        "queue_tallies",
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("answered", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("request_type", "channel"),
    )
    op.execute(
        "INSERT INTO queue_tallies (request_type, channel, answered) SELECT request_type, channel, count(*) "
        "FROM request_records WHERE answered AND due_at IS NOT NULL AND request_type IS NOT NULL "
        "AND channel IS NOT NULL GROUP BY request_type, channel"
    )


def _backfill_records() -> None:
    """Before this revision the response columns held the answer itself: they are the completion's or the
    denial's facts; no request was under review."""
    records = sa.table("request_records", *(sa.column(name) for name in (
        "responded_at", "response_nature", "denial_code", "denial_basis", "respond_by", "extended_respond_by",
        *(name for name, _ in FACTS), "answered")))  # fmt: skip
    c = records.c
    denied = c.response_nature.like("denied%")
    op.execute(sa.update(records).values(due_at=sa.func.coalesce(c.extended_respond_by, c.respond_by),
                                         answered=c.responded_at.is_not(None)))  # fmt: skip
    op.execute(sa.update(records).where(denied).values(
        denied_at=c.responded_at, denied_nature=c.response_nature, denied_code=c.denial_code,
        denied_basis=c.denial_basis))  # fmt: skip
    op.execute(sa.update(records).where(c.responded_at.is_not(None), sa.not_(denied))
               .values(completed_at=c.responded_at, completed_nature=c.response_nature))  # fmt: skip


def _backfill_instructions() -> None:
    conn = op.get_bind()
    found: dict[str, dict[str, Any]] = {}
    for event_type, request_id, occurred_at, details in _recipient_entries(conn):
        facts = json.loads(details) if isinstance(details, str) else details
        instruction_id = facts.get("instruction_id")
        if not instruction_id:
            continue
        row = found.setdefault(instruction_id, {"instruction_id": instruction_id, "request_id": request_id,
                                                 "recipient": None, "outcome": None, "instructed_at": None,
                                                 "overdue_at": None, "confirmed_at": None})  # fmt: skip
        row["recipient"] = facts.get("recipient") or row["recipient"]
        column = RECIPIENT_EVENTS[event_type]
        if event_type == "ProviderInstructed":  # a re-sent instruction replaces the one before, as live
            row["outcome"], row[column] = facts.get("outcome"), occurred_at
        else:
            row[column] = _earliest(row[column], occurred_at)
    rows = [{**row, "awaiting": row["instructed_at"] is not None and row["outcome"] in WAITING_OUTCOMES
             and row["confirmed_at"] is None} for row in found.values()]  # fmt: skip
    table = sa.table("recipient_instructions", *(sa.column(name) for name in (
        "instruction_id", "request_id", "recipient", "outcome", "instructed_at", "overdue_at", "confirmed_at",
        "awaiting")))  # fmt: skip
    for start in range(0, len(rows), 1000):
        conn.execute(sa.insert(table), rows[start : start + 1000])


def _recipient_entries(conn: sa.Connection) -> Iterator[tuple[str, str | None, datetime, Any]]:
    timeline = sa.table("timeline_entries", sa.column("event_type"), sa.column("request_id"),
                        sa.column("occurred_at", UtcDateTime()), sa.column("details"))  # fmt: skip
    select = sa.select(timeline).where(timeline.c.event_type.in_(RECIPIENT_EVENTS)).order_by(timeline.c.occurred_at)
    for row in conn.execute(select):
        yield row.event_type, row.request_id, row.occurred_at, row.details


def _earliest(stored: datetime | None, new: datetime) -> datetime:
    return new if stored is None or new < stored else stored


def downgrade() -> None:
    op.drop_table("queue_tallies")
    op.drop_table("recipient_instructions")
    with op.batch_alter_table("deadline_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_clocks_backlog")
    with op.batch_alter_table("request_records", schema=None) as batch_op:
        for name in QUEUE_INDEXES:
            batch_op.drop_index(name)
        for name in ("awaiting_review", "answered", *(name for name, _ in reversed(FACTS))):
            batch_op.drop_column(name)
