"""Revision 0001: the keystore tables as create_tables made them before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        baseline.subject_key(),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(op.f("ix_data_keys_subject_key"), "data_keys", ["subject_key"], unique=False)
    op.create_index(
        "one_live_key_per_subject",
        "data_keys",
        ["subject_key"],
        unique=True,
        postgresql_where=sa.text("wrapped_key IS NOT NULL"),
        sqlite_where=sa.text("wrapped_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "one_live_key_per_subject",
        table_name="data_keys",
        postgresql_where=sa.text("wrapped_key IS NOT NULL"),
        sqlite_where=sa.text("wrapped_key IS NOT NULL"),
    )
    op.drop_index(op.f("ix_data_keys_subject_key"), table_name="data_keys")
    op.drop_table("data_keys")
