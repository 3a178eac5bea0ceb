"""Deletion's own tables: one job per delete request, its stage and attempts; inbox and outbox. The erasure
journal, suppression ledger, legal holds and provider instructions live beside them (their own metadata)."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table
from services.common.leases import lease_columns
from services.common.outbox import outbox_table

metadata = sa.MetaData()
Timestamp = UtcDateTime()

jobs = sa.Table(
    "deletion_jobs",
    metadata,
    request_id_column(primary_key=True),
    subject_key_column(nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),  # delete | correct
    # Whose request (migration 0003): only the collections holding that type's records are erased and re-searched.
    sa.Column("subject_type", sa.String(16), nullable=False, server_default="consumer"),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("identifiers_sealed", sa.JSON),  # from DiscoveryCompleted: every identifier the walk reached
    sa.Column("corrections_sealed", sa.JSON),  # correct requests: data point → corrected value, sealed by intake
    sa.Column("stage", sa.String(16), nullable=False),  # discovering | erasing | verifying | answering | complete
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("verifications", sa.Integer, nullable=False, default=0),
    sa.Column("verified", sa.Boolean),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    *lease_columns(),
    sa.Column("erased_at", Timestamp),
    sa.Column("completed_at", Timestamp),
    sa.Index("ix_deletion_jobs_due", "stage", "next_attempt_at"),
)

# Which per-store and per-recipient events a job has put on the timeline, so retries do not repeat them.
reported = sa.Table(
    "deletion_reported",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("subject", sa.String(200), primary_key=True),  # store name or instruction id
    sa.Column("event_type", sa.String(40), primary_key=True),
)

# Each store's outcome per erase round (held stores included, which the erasure journal leaves out on purpose).
store_outcomes = sa.Table(
    "deletion_store_outcomes",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("erase_round", sa.Integer, primary_key=True),
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("outcome", sa.Text, nullable=False),  # StoreOutcome as JSON: counts and exemptions, no identifiers
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
