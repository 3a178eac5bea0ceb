"""Revision 0002: who confirmed a recipient's instruction by hand and their note; who placed a legal hold."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("provider_instructions", sa.Column("confirmation_note", sa.Text(), nullable=True))
    op.add_column("provider_instructions", sa.Column("confirmed_by", sa.String(length=36), nullable=True))
    op.add_column("legal_holds", sa.Column("placed_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("legal_holds") as batch:
        batch.drop_column("placed_by")
    with op.batch_alter_table("provider_instructions") as batch:
        batch.drop_column("confirmed_by")
        batch.drop_column("confirmation_note")
