"""Revision 0001: the intake tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "completed_deletions",
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("completed_at", UtcDateTime(), nullable=False),
        sa.Column("undelivered", sa.JSON(), nullable=False),
        sa.Column("key_shredded_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index(op.f("ix_completed_deletions_subject_key"), "completed_deletions", ["subject_key"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        baseline.request_id(),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    baseline.create_inbox()
    baseline.create_outbox()
    op.create_table(
        "reports",
        baseline.request_id(),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("ready_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "requests",
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("requested_type", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("respond_by", UtcDateTime(), nullable=False),
        sa.Column("max_extended_respond_by", UtcDateTime(), nullable=True),
        sa.Column("extended_at", UtcDateTime(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("identifiers_sealed", sa.JSON(), nullable=False),
        sa.Column("corrections_sealed", sa.JSON(), nullable=True),
        sa.Column("identifier_kinds", sa.JSON(), nullable=False),
        sa.Column("verification_required", sa.String(length=32), nullable=False),
        sa.Column("verification_achieved", sa.String(length=32), nullable=False),
        sa.Column("verification_outcome", sa.String(length=32), nullable=False),
        sa.Column("authorized_agent", sa.Boolean(), nullable=False),
        sa.Column("gpc", sa.Boolean(), nullable=False),
        sa.Column("date_range_start", sa.Date(), nullable=True),
        sa.Column("date_range_end", sa.Date(), nullable=True),
        sa.Column("denial_code", sa.String(length=32), nullable=True),
        sa.Column("denial_basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index(op.f("ix_requests_subject_key"), "requests", ["subject_key"], unique=False)
    op.create_table(
        "responses",
        baseline.request_id(),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("responded_at", UtcDateTime(), nullable=False),
        sa.Column("producer", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("responses")
    op.drop_index(op.f("ix_requests_subject_key"), table_name="requests")
    op.drop_table("requests")
    op.drop_table("reports")
    baseline.drop_outbox()
    op.drop_table("inbox")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_completed_deletions_subject_key"), table_name="completed_deletions")
    op.drop_table("completed_deletions")
