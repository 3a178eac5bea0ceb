"""Revision 0001: the audit tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    baseline.create_inbox()
    op.create_table(
        "request_records",
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("request_type", sa.String(length=32), nullable=True),
        sa.Column("requested_type", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.Column("respond_by", UtcDateTime(), nullable=True),
        sa.Column("extended_respond_by", UtcDateTime(), nullable=True),
        sa.Column("extended_at", UtcDateTime(), nullable=True),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("response_nature", sa.String(length=32), nullable=True),
        sa.Column("denial_code", sa.String(length=32), nullable=True),
        sa.Column("denial_basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "timeline_entries",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        baseline.request_id(nullable=True),
        baseline.subject_key(),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("producer", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(op.f("ix_timeline_entries_request_id"), "timeline_entries", ["request_id"], unique=False)
    op.create_index(op.f("ix_timeline_entries_subject_key"), "timeline_entries", ["subject_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_timeline_entries_subject_key"), table_name="timeline_entries")
    op.drop_index(op.f("ix_timeline_entries_request_id"), table_name="timeline_entries")
    op.drop_table("timeline_entries")
    op.drop_table("request_records")
    op.drop_table("inbox")
