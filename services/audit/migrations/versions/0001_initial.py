"""The audit tables as create_tables made them before migrations existed

Revision ID: 0001
Revises: -
Create Date: 2026-12-01 13:48:47.935678
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "request_records",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
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
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
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
