"""The shared tables every service's first revision (0001) created: inbox, outbox and parked outbox.

Frozen as they were at 0001: a later change to one of them is a new revision in each service that has it, never
an edit here (an edit would change what 0001 means for databases already past it)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime


def create_inbox() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def create_outbox() -> None:
    """The outbox and, beside it, the table its unpublishable rows are parked in."""
    op.create_table("outbox", *_message_columns(), sa.PrimaryKeyConstraint("id"))
    op.create_table(
        "outbox_parked",
        *_message_columns(),
        sa.Column("parked_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _message_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("message_key", sa.LargeBinary(), nullable=True),
        sa.Column("message_value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    ]


def drop_outbox() -> None:
    op.drop_table("outbox_parked")
    op.drop_table("outbox")
