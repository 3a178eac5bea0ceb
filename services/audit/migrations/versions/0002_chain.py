"""Revision 0002: chain links on timeline entries and signed chain checkpoints; entries already stored are linked."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from services.audit.chain import GENESIS, canonical_entry, link
from services.common.db import UtcDateTime

revision = "0002"
down_revision = "0001"

# (link columns, scope, order) of the two chains, as services/audit/links.py keeps them.
CHAINS = (
    (("source_prev", "source_hash"), ("topic", "partition"), ("offset",)),
    (("request_prev", "request_hash"), ("request_id",), ("occurred_at", "topic", "partition", "offset")),
)


def upgrade() -> None:
    op.create_table(
        "chain_checkpoints",
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_prev", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("request_prev", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_timeline_entries_request_order",
                              ["request_id", "occurred_at", "topic", "partition", "offset"], unique=False)  # fmt: skip
        batch_op.create_index("ix_timeline_entries_source", ["topic", "partition", "offset"], unique=False)
    link_stored_entries()


def link_stored_entries() -> None:
    """Entries stored before the chain existed get their links, in the order the chains keep."""
    conn = op.get_bind()
    timeline = sa.Table("timeline_entries", sa.MetaData(), autoload_with=conn)
    for (previous_column, hash_column), scope, order in CHAINS:
        rows = conn.execute(sa.select(timeline).where(timeline.c[scope[0]].is_not(None))
                            .order_by(*(timeline.c[c] for c in (*scope, *order)))).mappings().all()  # fmt: skip
        running: dict[tuple[Any, ...], str] = {}
        for row in rows:
            chain = tuple(row[column] for column in scope)
            previous = running.get(chain, GENESIS)
            running[chain] = link(previous, canonical_entry(dict(row)))
            conn.execute(sa.update(timeline).where(timeline.c.event_id == row["event_id"])
                         .values({previous_column: previous, hash_column: running[chain]}))  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_entries_source")
        batch_op.drop_index("ix_timeline_entries_request_order")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("request_prev")
        batch_op.drop_column("source_hash")
        batch_op.drop_column("source_prev")
    op.drop_table("chain_checkpoints")
