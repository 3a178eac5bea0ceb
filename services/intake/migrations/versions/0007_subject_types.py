"""Revision 0007: whose request it is (consumer, employee, job applicant, business contact)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column(
        "requests", sa.Column("subject_type", sa.String(length=16), nullable=False, server_default="consumer")
    )


def downgrade() -> None:
    op.drop_column("requests", "subject_type")
