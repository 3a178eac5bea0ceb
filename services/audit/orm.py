"""Audit's own tables: the timeline (one row per event, with its chain links), the signed chain checkpoints,
the §7101 record per request, and the deadline watch's clocks, announcements and outbox."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table

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
    # Links of the two chains an entry is on (services/audit/chain.py): its source partition's, in offset order,
    # and its request's, in timeline order. Request links are null for an event about no request.
    sa.Column("source_prev", sa.String(64)),
    sa.Column("source_hash", sa.String(64)),
    sa.Column("request_prev", sa.String(64)),
    sa.Column("request_hash", sa.String(64)),
    sa.Index("ix_timeline_entries_source", "topic", "partition", "offset"),
    sa.Index("ix_timeline_entries_request_order", "request_id", "occurred_at", "topic", "partition", "offset"),
)

# A signed statement of every chain head at one moment; each names the digest of the one before (the global chain).
checkpoints = sa.Table(
    "chain_checkpoints",
    metadata,
    sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("signed_at", UtcDateTime(), nullable=False),
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
    # The evidence §7101 keeps beside the dates (RequestSubmitted): the verification level reached, the authorised
    # agent (its own name and where its signed permission is kept) and the signed declaration (§7062).
    sa.Column("verification_level", sa.String(32)),
    sa.Column("authorized_agent", sa.Boolean),
    sa.Column("agent_name", sa.String(200)),
    sa.Column("agent_permission_reference", sa.String(200)),
    sa.Column("declaration_signed", sa.Boolean),
    sa.Column("declaration_signed_at", UtcDateTime()),
    sa.Column("declaration_text_version", sa.String(32)),
    # Review before send (migration 0006): each event's own facts, then the response derived from them
    # (services/audit/responses.py): RequestSubmitted's review flag, RequestCompleted's and RequestDenied's
    # answers, AnswerReviewed's verdict.
    sa.Column("review_required", sa.Boolean),
    sa.Column("completed_at", UtcDateTime()),
    sa.Column("completed_nature", sa.String(32)),
    sa.Column("denied_at", UtcDateTime()),
    sa.Column("denied_nature", sa.String(32)),
    sa.Column("denied_code", sa.String(32)),
    sa.Column("denied_basis", sa.Text),
    sa.Column("review_state", sa.String(16)),
    sa.Column("reviewed_at", UtcDateTime()),
    sa.Column("review_reason", sa.Text),
    # The queue's stored facts (services/audit/queue.py): the due date in force, answered or not, held for review.
    sa.Column("due_at", UtcDateTime()),
    sa.Column("answered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("awaiting_review", sa.Boolean, nullable=False, server_default=sa.false()),
    # Whose request (migration 0007): consumer, employee, job_applicant or b2b_contact (RequestSubmitted).
    sa.Column("subject_type", sa.String(16)),
    sa.Index("ix_request_records_received", "received_at", "request_id"),
    sa.Index("ix_request_records_responded", "responded_at"),
    sa.Index("ix_request_records_queue", "answered", "due_at", "request_id"),
    sa.Index("ix_request_records_queue_type", "request_type", "answered", "due_at", "request_id"),
    sa.Index("ix_request_records_queue_channel", "channel", "answered", "due_at", "request_id"),
    sa.Index("ix_request_records_queue_review", "awaiting_review", "due_at", "request_id"),
)

# The queue's answered count per type and channel, kept by the derived response step (services/audit/tallies.py):
# answered requests are most of the table, and counting them on every queue page would read all of it.
queue_tallies = sa.Table(
    "queue_tallies",
    metadata,
    sa.Column("request_type", sa.String(32), primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("answered", sa.BigInteger, nullable=False),
)

# The recipients' backlog (services/audit/recipients.py): one row per deletion or correction instruction to a
# service provider, contractor or third party, each event setting its own columns.
recipient_instructions = sa.Table(
    "recipient_instructions",
    metadata,
    sa.Column("instruction_id", sa.String(64), primary_key=True),
    request_id_column(nullable=True),
    sa.Column("recipient", sa.String(200)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("instructed_at", UtcDateTime()),
    sa.Column("overdue_at", UtcDateTime()),
    sa.Column("confirmed_at", UtcDateTime()),
    sa.Column("awaiting", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_recipient_instructions_backlog", "awaiting", "recipient", "overdue_at"),
    sa.Index("ix_recipient_instructions_request", "request_id"),
)

inbox = inbox_table(metadata)

# Retention (services/audit/snapshots.py, retention.py): the digest of each snapshot key's last published value,
# where the snapshotter's last round started, and the signed statements of what a purge removed from each chain.
snapshot_keys = sa.Table(
    "snapshot_keys",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=False),
)

snapshot_rounds = sa.Table(
    "snapshot_rounds",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("started_at", UtcDateTime(), nullable=False),
)

chain_purges = sa.Table(
    "chain_purges",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("chain", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("purged_at", UtcDateTime(), nullable=False),
)

sa.Index("ix_inbox_processed_at", inbox.c.processed_at)

# The deadline watch (services/audit/watch.py): one row per clock of a request (or, for a downstream acknowledgement
# of an opt-out no request asked for, of a subject), filled from the events that open, move and answer it.
deadline_clocks = sa.Table(
    "deadline_clocks",
    metadata,
    sa.Column("clock_id", sa.String(36), primary_key=True),
    request_id_column(nullable=True, index=True),
    subject_key_column(nullable=False),
    sa.Column("clock", sa.String(32), nullable=False),
    sa.Column("item", sa.String(249), nullable=False),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("due_at", UtcDateTime()),
    sa.Column("extended_due_at", UtcDateTime()),
    sa.Column("satisfied_at", UtcDateTime()),
    # Nothing left to announce: every handler that changes the clock clears it, the watch sets it.
    sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_deadline_clocks_watch", "settled", "due_at"),
    sa.Index("ix_deadline_clocks_backlog", "clock", "satisfied_at", "due_at"),
)

# One row per DeadlineApproaching/DeadlineMissed produced, by its deterministic event id; restored from the topic.
deadline_announcements = sa.Table(
    "deadline_announcements",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("clock_id", sa.String(36), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
)

outbox = outbox_table(metadata)
