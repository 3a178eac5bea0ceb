"""Revision 0005: privacy-center forms waiting for their e-mailed code, and authorised agents' signed permissions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "pending_submissions",
        sa.Column("pending_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        baseline.subject_key(),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("body_sealed", sa.JSON(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("tries_left", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        baseline.request_id(nullable=True),
        sa.Column("status_sealed", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("pending_id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_pending_submissions_subject_key"), "pending_submissions", ["subject_key"], unique=False)
    op.create_table(
        "agent_permissions",
        sa.Column("permission_id", sa.String(length=36), nullable=False),
        baseline.subject_key(),
        baseline.request_id(nullable=True),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.JSON(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("permission_id"),
    )
    op.create_index(op.f("ix_agent_permissions_subject_key"), "agent_permissions", ["subject_key"], unique=False)
    op.create_index(op.f("ix_agent_permissions_request_id"), "agent_permissions", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_permissions_request_id"), table_name="agent_permissions")
    op.drop_index(op.f("ix_agent_permissions_subject_key"), table_name="agent_permissions")
    op.drop_table("agent_permissions")
    op.drop_index(op.f("ix_pending_submissions_subject_key"), table_name="pending_submissions")
    op.drop_table("pending_submissions")
