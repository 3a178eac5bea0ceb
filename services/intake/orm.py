"""Intake's own tables: requests (identifiers encrypted), idempotency keys, responses, reports, completed
deletions, status links, consumer e-mails (notices), pending privacy-center forms, agents' permissions, reviews
before send, inbox, outbox."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.inbox import inbox_table
from services.common.leases import lease_columns
from services.common.outbox import outbox_table

metadata = sa.MetaData()
Timestamp = UtcDateTime()

requests = sa.Table(
    "requests",
    metadata,
    request_id_column(primary_key=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("requested_type", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("acknowledged_at", Timestamp),
    sa.Column("respond_by", Timestamp, nullable=False),
    sa.Column("max_extended_respond_by", Timestamp),
    sa.Column("extended_at", Timestamp),
    sa.Column("extension_reason", sa.Text),
    sa.Column("responded_at", Timestamp),
    sa.Column("identifiers_sealed", sa.JSON, nullable=False),
    sa.Column("corrections_sealed", sa.JSON),
    sa.Column("identifier_kinds", sa.JSON, nullable=False),
    sa.Column("verification_required", sa.String(32), nullable=False),
    sa.Column("verification_achieved", sa.String(32), nullable=False),
    sa.Column("verification_outcome", sa.String(32), nullable=False),
    sa.Column("authorized_agent", sa.Boolean, nullable=False),
    sa.Column("gpc", sa.Boolean, nullable=False),
    sa.Column("date_range_start", sa.Date),
    sa.Column("date_range_end", sa.Date),
    sa.Column("denial_code", sa.String(32)),
    sa.Column("denial_basis", sa.Text),
    # Whose request it is (services/common/subject_types.py): which identity source verified it, which collections
    # its walk covers (migration 0007).
    sa.Column("subject_type", sa.String(16), nullable=False, server_default="consumer"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("body_hash", sa.String(64), nullable=False),
    request_id_column(nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# What the acting services answered (from their result topics): the response the consumer is told about.
responses = sa.Table(
    "responses",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("responded_at", Timestamp, nullable=False),
    sa.Column("producer", sa.String(32), nullable=False),
)

reports = sa.Table(
    "reports",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("formats", sa.JSON, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("ready_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
)

# Completed deletions of a subject (from DeletionCompleted): they revoke the subject's earlier reports and decide
# when its data key is shredded (docs/key-management.md).
completed_deletions = sa.Table(
    "completed_deletions",
    metadata,
    request_id_column(primary_key=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("completed_at", Timestamp, nullable=False),
    sa.Column("undelivered", sa.JSON, nullable=False),  # recipients whose instruction still carries identifiers
    sa.Column("key_shredded_at", Timestamp),
    # The re-walk found nothing left: an unverified deletion does not shred (the stores may still need erasing).
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.true()),
)

# The consumer-held links to a request's status page: only a keyed hash of each token (services/intake/status_links.py).
status_links = sa.Table(
    "status_links",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    request_id_column(nullable=False, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
)

# The e-mails to consumers, queued in the transaction of the event that causes each and sent by the notice worker
# (services/intake/mail/worker.py): the address and the template's context (it holds a status link) sealed under the
# subject's data key, so a shred makes them unreadable.
notices = sa.Table(
    "notices",
    metadata,
    sa.Column("notice_id", sa.String(36), primary_key=True),
    sa.Column("dedup_key", sa.String(80), nullable=False, unique=True),  # request and notice: one event, one e-mail
    request_id_column(nullable=False, index=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("notice", sa.String(32), nullable=False),  # acknowledgement | extension | response | report_ready
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("template_version", sa.String(16), nullable=False),
    sa.Column("recipient_sealed", sa.JSON, nullable=False),
    sa.Column("recipient_key", sa.String(64), nullable=False),  # keyed hash of the address, as NoticeSent carries it
    sa.Column("context_sealed", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed | held | withdrawn
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    *lease_columns(),
    sa.Column("last_detail", sa.String(200)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp),
    sa.Column("message_id", sa.String(250)),
    sa.Column("resent_from", sa.String(36)),  # a copy the privacy team asked for: the notice it copies
    sa.Index("ix_notices_due", "status", "next_attempt_at"),
)

# A request whose type the business reviews before its answer is sent (CCPA_REVIEW_BEFORE_SEND,
# services/intake/review.py): opened at submission, its answer held once ready, then approved or denied once.
reviews = sa.Table(
    "reviews",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # pending | approved | denied
    sa.Column("opened_at", Timestamp, nullable=False),
    sa.Column("answer_ready_at", Timestamp),
    sa.Column("reviewer", sa.String(36)),  # the console account's id (a UUID), never a name
    sa.Column("reason", sa.Text),
    sa.Column("decided_at", Timestamp),
)

# A privacy-center form waiting for its e-mailed code (services/intake/pending.py): the body sealed under the
# subject's data key, only keyed hashes of its link token and of the code; void after the last wrong try.
pending_submissions = sa.Table(
    "pending_submissions",
    metadata,
    sa.Column("pending_id", sa.String(36), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("body_sealed", sa.JSON),  # emptied once the request exists
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("tries_left", sa.Integer, nullable=False),
    sa.Column("codes_sent", sa.Integer, nullable=False),
    sa.Column("deliveries", sa.JSON, nullable=False),  # each code e-mail's outcome, for its NoticeSent
    sa.Column("state", sa.String(16), nullable=False),  # awaiting_code | void | submitted
    request_id_column(nullable=True),
    sa.Column("status_sealed", sa.JSON),  # the status link's token, sealed, so a double submit lands there too
)

# An authorised agent's signed permission (services/intake/agent_permissions.py): the file sealed under the
# consumer's data key, never shown back; its reference goes on the request.
agent_permissions = sa.Table(
    "agent_permissions",
    metadata,
    sa.Column("permission_id", sa.String(36), primary_key=True),
    subject_key_column(nullable=False, index=True),
    request_id_column(nullable=True, index=True),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content_sealed", sa.JSON, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
