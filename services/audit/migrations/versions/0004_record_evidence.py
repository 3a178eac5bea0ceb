"""Revision 0004: the §7101 record's evidence (verification level, authorised agent, signed declaration) and an
index on the date of receipt for the records export."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("request_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_level", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("authorized_agent", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("agent_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("agent_permission_reference", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("declaration_signed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("declaration_signed_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("declaration_text_version", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_request_records_received", ["received_at", "request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_records", schema=None) as batch_op:
        batch_op.drop_index("ix_request_records_received")
        batch_op.drop_column("declaration_text_version")
        batch_op.drop_column("declaration_signed_at")
        batch_op.drop_column("declaration_signed")
        batch_op.drop_column("agent_permission_reference")
        batch_op.drop_column("agent_name")
        batch_op.drop_column("authorized_agent")
        batch_op.drop_column("verification_level")
