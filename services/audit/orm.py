"""Audit's own tables: the timeline (one row per event) and the §7101 record per request."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table

metadata = sa.MetaData()

timeline = sa.Table(
    "timeline_entries",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    request_id_column(index=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("producer", sa.String(64), nullable=False),
    sa.Column("topic", sa.String(249), nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

# §7101(b): date of request, nature, manner, date of response, nature of response, basis for denial.
request_records = sa.Table(
    "request_records",
    metadata,
    request_id_column(primary_key=True),
    subject_key_column(nullable=False),
    sa.Column("request_type", sa.String(32)),
    sa.Column("requested_type", sa.String(32)),
    sa.Column("channel", sa.String(32)),
    sa.Column("received_at", UtcDateTime()),
    sa.Column("respond_by", UtcDateTime()),
    sa.Column("extended_respond_by", UtcDateTime()),
    sa.Column("extended_at", UtcDateTime()),
    sa.Column("responded_at", UtcDateTime()),
    sa.Column("response_nature", sa.String(32)),
    sa.Column("denial_code", sa.String(32)),
    sa.Column("denial_basis", sa.Text),
)

inbox = inbox_table(metadata)
