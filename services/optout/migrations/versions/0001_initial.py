"""Revision 0001: the optout tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "consent_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        baseline.subject_key(),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        baseline.request_id(nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_consent_history_subject_key"), "consent_history", ["subject_key"], unique=False)
    op.create_table(
        "consent_states",
        baseline.subject_key(),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("sale_opt_out", sa.Boolean(), nullable=False),
        sa.Column("share_opt_out", sa.Boolean(), nullable=False),
        sa.Column("limit_sensitive", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("may_ask_after", UtcDateTime(), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("opted_in_by_consumer", sa.Boolean(), nullable=False),
        sa.Column("financial_incentive_enrolled", sa.Boolean(), nullable=False),
        sa.Column("state_event_id", sa.String(length=36), nullable=True),
        baseline.request_id(nullable=True),
        sa.PrimaryKeyConstraint("subject_key"),
    )
    baseline.create_inbox()
    op.create_table(
        "known_identifiers",
        baseline.subject_key(),
        baseline.request_id(),
        sa.Column("sealed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("subject_key"),
    )
    baseline.create_outbox()
    op.create_table(
        "pending_acks",
        baseline.subject_key(),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("downstream", sa.String(length=100), nullable=False),
        baseline.request_id(nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledge_by", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("overdue_reported_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("subject_key", "version", "downstream"),
    )


def downgrade() -> None:
    op.drop_table("pending_acks")
    baseline.drop_outbox()
    op.drop_table("known_identifiers")
    op.drop_table("inbox")
    op.drop_table("consent_states")
    op.drop_index(op.f("ix_consent_history_subject_key"), table_name="consent_history")
    op.drop_table("consent_history")
