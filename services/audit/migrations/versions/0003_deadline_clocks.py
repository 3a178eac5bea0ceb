"""Revision 0003: deadline watch: clocks, announcements and the outbox of DeadlineApproaching/DeadlineMissed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "deadline_announcements",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("clock_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("deadline_announcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_announcements_clock_id"), ["clock_id"], unique=False)

    op.create_table(
        "deadline_clocks",
        sa.Column("clock_id", sa.String(length=36), nullable=False),
        baseline.request_id(nullable=True),
        baseline.subject_key(),
        sa.Column("clock", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=249), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("extended_due_at", UtcDateTime(), nullable=True),
        sa.Column("satisfied_at", UtcDateTime(), nullable=True),
        sa.Column("settled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("clock_id"),
    )
    with op.batch_alter_table("deadline_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_clocks_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_deadline_clocks_watch", ["settled", "due_at"], unique=False)

    baseline.create_outbox()


def downgrade() -> None:
    baseline.drop_outbox()
    with op.batch_alter_table("deadline_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_clocks_watch")
        batch_op.drop_index(batch_op.f("ix_deadline_clocks_request_id"))

    op.drop_table("deadline_clocks")
    with op.batch_alter_table("deadline_announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_announcements_clock_id"))

    op.drop_table("deadline_announcements")
