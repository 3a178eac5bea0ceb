"""Revision 0003: whose request a job erases for (consumer, employee, job applicant, business contact)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column(
        "deletion_jobs",
        sa.Column("subject_type", sa.String(length=16), nullable=False, server_default="consumer"),
    )


def downgrade() -> None:
    op.drop_column("deletion_jobs", "subject_type")
