"""What the services' first revisions (0001) share: the inbox, outbox and parked outbox tables, the request and
subject key columns, and the lease columns (and due index) of a leased work table.

Frozen as they were at 0001: a later change to one of them is a new revision in each service that has it, never
an edit here (an edit would change what 0001 means for databases already past it)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.db import UtcDateTime


def request_id(nullable: bool = False) -> sa.Column[str]:
    """The request's id (a UUID) as 0001 stored it."""
    return sa.Column("request_id", sa.String(length=36), nullable=nullable)


def subject_key(nullable: bool = False) -> sa.Column[str]:
    """The subject's key (an HMAC-SHA256, hex) as 0001 stored it."""
    return sa.Column("subject_key", sa.String(length=64), nullable=nullable)


def lease_columns() -> list[sa.Column[object]]:
    """A leased work row's columns: when it is next due, until when a process holds it, and which one."""
    return [
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
    ]


def create_due_index(table: str, state_column: str) -> None:
    """The index a leased work table is claimed by: its state, then when each row is due."""
    op.create_index(f"ix_{table}_due", table, [state_column, "next_attempt_at"], unique=False)


def drop_due_index(table: str) -> None:
    op.drop_index(f"ix_{table}_due", table_name=table)


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
