"""Discovery's own tables: one run per request, each store's latest outcome, sealed reports (and a record of
those a deletion destroyed), inbox, outbox."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table
from services.common.leases import lease_columns
from services.common.outbox import outbox_table

metadata = sa.MetaData()
Timestamp = UtcDateTime()

runs = sa.Table(
    "discovery_runs",
    metadata,
    request_id_column(primary_key=True),
    subject_key_column(nullable=False),
    sa.Column("request_type", sa.String(32), nullable=False),
    # Whose request (migration 0002): the walk covers only the collections holding that type's records.
    sa.Column("subject_type", sa.String(16), nullable=False, server_default="consumer"),
    sa.Column("identifiers_sealed", sa.JSON, nullable=False),
    sa.Column("date_range_start", sa.Date),
    sa.Column("date_range_end", sa.Date),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | complete
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    *lease_columns(),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("completed_at", Timestamp),
    sa.Index("ix_discovery_runs_due", "status", "next_attempt_at"),
)

store_outcomes = sa.Table(
    "store_outcomes",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("store", sa.String(100), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # found | none | unavailable
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("updated_at", Timestamp, nullable=False),
)

reports = sa.Table(
    "reports",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("format", sa.String(8), primary_key=True),
    subject_key_column(nullable=False),
    sa.Column("sealed", sa.JSON, nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

# What a completed deletion destroyed: which report existed and when it went, never its content.
destroyed_reports = sa.Table(
    "destroyed_reports",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("format", sa.String(8), primary_key=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("destroyed_at", Timestamp, nullable=False),
    sa.Column("deletion_request_id", sa.String(36)),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
