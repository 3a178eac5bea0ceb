"""Revision 0001: the deletion tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "deletion_jobs",
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("identifiers_sealed", sa.JSON(), nullable=True),
        sa.Column("corrections_sealed", sa.JSON(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("verifications", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=True),
        *baseline.lease_columns(),
        sa.Column("erased_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    baseline.create_due_index("deletion_jobs", "stage")
    op.create_table(
        "deletion_reported",
        baseline.request_id(),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "subject", "event_type"),
    )
    op.create_table(
        "deletion_store_outcomes",
        baseline.request_id(),
        sa.Column("erase_round", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "erase_round", "store"),
    )
    baseline.create_inbox()
    baseline.create_outbox()
    op.create_table(
        "erasure_journal",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "store"),
    )
    op.create_table(
        "legal_holds",
        sa.Column("hold_id", sa.String(length=36), nullable=False),
        sa.Column("subject_key", sa.String(length=128), nullable=True),
        sa.Column("store", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_at", UtcDateTime(), nullable=False),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("hold_id"),
    )
    op.create_index(op.f("ix_legal_holds_subject_key"), "legal_holds", ["subject_key"], unique=False)
    op.create_table(
        "suppression_ledger",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("subject_key", sa.String(length=128), nullable=True),
        sa.Column("deleted_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "provider_callback_nonces",
        sa.Column("nonce", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index(
        op.f("ix_provider_callback_nonces_expires_at"), "provider_callback_nonces", ["expires_at"], unique=False
    )
    op.create_table(
        "provider_instruction_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("instruction_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("step", sa.String(length=12), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_provider_instruction_attempts_instruction_id"),
        "provider_instruction_attempts",
        ["instruction_id"],
        unique=False,
    )
    op.create_table(
        "provider_instructions",
        sa.Column("instruction_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        baseline.subject_key(),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("callback_url", sa.String(length=1000), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("confirmation_id", sa.String(length=200), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", UtcDateTime(), nullable=True),
        sa.Column("overdue_reported_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("instruction_id"),
    )
    op.create_index(
        op.f("ix_provider_instructions_next_attempt_at"), "provider_instructions", ["next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_provider_instructions_next_poll_at"), "provider_instructions", ["next_poll_at"], unique=False
    )
    op.create_index(op.f("ix_provider_instructions_request_id"), "provider_instructions", ["request_id"], unique=False)
    op.create_index(op.f("ix_provider_instructions_state"), "provider_instructions", ["state"], unique=False)
    op.create_index(
        op.f("ix_provider_instructions_subject_key"), "provider_instructions", ["subject_key"], unique=False
    )
    op.create_table(
        "kept_corrections",
        baseline.request_id(),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        baseline.subject_key(),
        sa.Column("sealed", sa.JSON(), nullable=False),
        sa.Column("corrected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "store", "collection", "field"),
    )


def downgrade() -> None:
    op.drop_table("kept_corrections")
    op.drop_index(op.f("ix_provider_instructions_subject_key"), table_name="provider_instructions")
    op.drop_index(op.f("ix_provider_instructions_state"), table_name="provider_instructions")
    op.drop_index(op.f("ix_provider_instructions_request_id"), table_name="provider_instructions")
    op.drop_index(op.f("ix_provider_instructions_next_poll_at"), table_name="provider_instructions")
    op.drop_index(op.f("ix_provider_instructions_next_attempt_at"), table_name="provider_instructions")
    op.drop_table("provider_instructions")
    op.drop_index(op.f("ix_provider_instruction_attempts_instruction_id"), table_name="provider_instruction_attempts")
    op.drop_table("provider_instruction_attempts")
    op.drop_index(op.f("ix_provider_callback_nonces_expires_at"), table_name="provider_callback_nonces")
    op.drop_table("provider_callback_nonces")
    op.drop_table("suppression_ledger")
    op.drop_index(op.f("ix_legal_holds_subject_key"), table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("erasure_journal")
    baseline.drop_outbox()
    op.drop_table("inbox")
    op.drop_table("deletion_store_outcomes")
    op.drop_table("deletion_reported")
    baseline.drop_due_index("deletion_jobs")
    op.drop_table("deletion_jobs")
