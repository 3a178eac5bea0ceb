"""Revision 0002: whose request a run walks for (consumer, employee, job applicant, business contact)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column(
        "discovery_runs",
        sa.Column("subject_type", sa.String(length=16), nullable=False, server_default="consumer"),
    )


def downgrade() -> None:
    op.drop_column("discovery_runs", "subject_type")
