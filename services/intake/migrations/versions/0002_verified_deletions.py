"""Revision 0002: whether a completed deletion was verified; only a verified one lets intake shred the data key."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("completed_deletions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("completed_deletions", schema=None) as batch_op:
        batch_op.drop_column("verified")
