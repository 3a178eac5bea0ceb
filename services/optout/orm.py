"""Opt-out's own tables: current consent state, its full history, known identifiers, pending acknowledgements."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table

metadata = sa.MetaData()

consent_states = sa.Table(
    "consent_states",
    metadata,
    subject_key_column(primary_key=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("sale_opt_out", sa.Boolean, nullable=False),
    sa.Column("share_opt_out", sa.Boolean, nullable=False),
    sa.Column("limit_sensitive", sa.JSON, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("effective_at", UtcDateTime()),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("may_ask_after", UtcDateTime()),
    sa.Column("age_band", sa.String(16)),
    sa.Column("opted_in_by_consumer", sa.Boolean, nullable=False),
    sa.Column("financial_incentive_enrolled", sa.Boolean, nullable=False),
    sa.Column("state_event_id", sa.String(36)),
    request_id_column(),
)

consent_history = sa.Table(
    "consent_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    request_id_column(),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("changed", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("notes", sa.JSON, nullable=False),
)

# The sealed identifiers last seen for a subject, so flags can be set for signals that carry none (GPC, SDK).
known_identifiers = sa.Table(
    "known_identifiers",
    metadata,
    subject_key_column(primary_key=True),
    request_id_column(nullable=False),
    sa.Column("sealed", sa.JSON, nullable=False),
)

pending_acks = sa.Table(
    "pending_acks",
    metadata,
    subject_key_column(primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("downstream", sa.String(100), primary_key=True),
    request_id_column(),
    sa.Column("published_at", UtcDateTime(), nullable=False),
    sa.Column("acknowledge_by", UtcDateTime(), nullable=False),
    sa.Column("acknowledged_at", UtcDateTime()),
    sa.Column("overdue_reported_at", UtcDateTime()),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
