"""Revision 0006: reviews before send (CCPA_REVIEW_BEFORE_SEND), and the notice a re-sent copy copies."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common import baseline
from services.common.db import UtcDateTime

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "reviews",
        baseline.request_id(),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("answer_ready_at", UtcDateTime(), nullable=True),
        sa.Column("reviewer", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.add_column("notices", sa.Column("resent_from", sa.String(length=36), nullable=True))


def downgrade() -> None:
    op.drop_column("notices", "resent_from")
    op.drop_table("reviews")
