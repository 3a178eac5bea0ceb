"""Revision 0004: the consumer e-mails (notices), queued with the event that causes each, address and context sealed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("dedup_key", sa.String(length=80), nullable=False),
        baseline.request_id(),
        baseline.subject_key(),
        sa.Column("notice", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=16), nullable=False),
        sa.Column("recipient_sealed", sa.JSON(), nullable=False),
        sa.Column("recipient_key", sa.String(length=64), nullable=False),
        sa.Column("context_sealed", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        *baseline.lease_columns(),
        sa.Column("last_detail", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("notice_id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index(op.f("ix_notices_request_id"), "notices", ["request_id"], unique=False)
    op.create_index(op.f("ix_notices_subject_key"), "notices", ["subject_key"], unique=False)
    baseline.create_due_index("notices", "status")


def downgrade() -> None:
    baseline.drop_due_index("notices")
    op.drop_index(op.f("ix_notices_subject_key"), table_name="notices")
    op.drop_index(op.f("ix_notices_request_id"), table_name="notices")
    op.drop_table("notices")
