"""Tables the erasure engine keeps in the deletion service's own database: journal, suppression ledger, legal holds."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, create_tables

metadata = sa.MetaData()

erasure_journal = sa.Table(
    "erasure_journal",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),  # pending: counts settled, store not yet confirmed; done
    sa.Column("outcome", sa.Text, nullable=False),  # StoreOutcome as JSON: counts and exemptions, no identifiers
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
)

suppression_ledger = sa.Table(
    "suppression_ledger",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # HMAC-SHA256(ledger key, kind + normalised value), hex
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("subject_key", sa.String(128)),
    sa.Column("deleted_at", UtcDateTime(), nullable=False),
)

legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("hold_id", sa.String(36), primary_key=True),
    sa.Column("subject_key", sa.String(128), index=True),
    sa.Column("store", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("placed_at", UtcDateTime(), nullable=False),
    sa.Column("released_at", UtcDateTime()),
    sa.Column("placed_by", sa.String(36)),  # the console account that placed it, when placed from the console
)


def create_erasure_tables(engine: sa.Engine) -> None:
    """Create the journal, ledger and holds tables if missing (the caller may instead add `metadata` to its own)."""
    create_tables(metadata, engine)
