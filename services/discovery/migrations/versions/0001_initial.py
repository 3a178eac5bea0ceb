"""Revision 0001: the discovery tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "destroyed_reports",
        baseline.request_id(),
        sa.Column("format", sa.String(length=8), nullable=False),
        baseline.subject_key(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("destroyed_at", UtcDateTime(), nullable=False),
        sa.Column("deletion_request_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("request_id", "format"),
    )
    op.create_index(op.f("ix_destroyed_reports_subject_key"), "destroyed_reports", ["subject_key"], unique=False)
    op.create_table(
        "discovery_runs",
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("identifiers_sealed", sa.JSON(), nullable=False),
        sa.Column("date_range_start", sa.Date(), nullable=True),
        sa.Column("date_range_end", sa.Date(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        *baseline.lease_columns(),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    baseline.create_due_index("discovery_runs", "status")
    baseline.create_inbox()
    baseline.create_outbox()
    op.create_table(
        "reports",
        baseline.request_id(),
        sa.Column("format", sa.String(length=8), nullable=False),
        baseline.subject_key(),
        sa.Column("sealed", sa.JSON(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "format"),
    )
    op.create_index(op.f("ix_reports_expires_at"), "reports", ["expires_at"], unique=False)
    op.create_table(
        "store_outcomes",
        baseline.request_id(),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "store"),
    )


def downgrade() -> None:
    op.drop_table("store_outcomes")
    op.drop_index(op.f("ix_reports_expires_at"), table_name="reports")
    op.drop_table("reports")
    baseline.drop_outbox()
    op.drop_table("inbox")
    baseline.drop_due_index("discovery_runs")
    op.drop_table("discovery_runs")
    op.drop_index(op.f("ix_destroyed_reports_subject_key"), table_name="destroyed_reports")
    op.drop_table("destroyed_reports")
