"""Revision 0005: 24-month retention: snapshot keys and rounds, signed purge statements, the inbox by claim time."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "snapshot_keys",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "snapshot_rounds",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "chain_purges",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("purged_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
    op.drop_table("chain_purges")
    op.drop_table("snapshot_rounds")
    op.drop_table("snapshot_keys")
