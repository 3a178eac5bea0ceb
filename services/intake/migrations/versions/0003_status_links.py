"""Revision 0003: the consumer-held status links (a keyed hash of each token, its request, its expiry)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "status_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        baseline.request_id(),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_status_links_request_id"), "status_links", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_status_links_request_id"), table_name="status_links")
    op.drop_table("status_links")
