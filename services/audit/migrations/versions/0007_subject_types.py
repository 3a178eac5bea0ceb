"""Revision 0007: whose request each §7101 record is (consumer, employee, job applicant, business contact)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("request_records", sa.Column("subject_type", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("request_records", "subject_type")
