"""The console's own tables: the people's accounts, their sessions, and the outbox of what they did (OperatorActed).
Nothing here is read by another service, and the console reads no other service's tables."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import UtcDateTime
from services.common.outbox import outbox_table

metadata = sa.MetaData()

# One row per person. The username and display name are the staff member's own PI: shown on the console's pages,
# never written to a log, an event or another service (the record knows them by `id` alone).
operators = sa.Table(
    "operators",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False, unique=True),  # stored lower-cased
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(300)),  # argon2id; null for an account that signs in only through SSO
    sa.Column("oidc_subject", sa.String(300), unique=True),  # the issuer's `sub` once linked through SSO
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", UtcDateTime()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_login_at", UtcDateTime()),
)

# A session is known only by its token's SHA-256; the token itself lives in the browser's HttpOnly cookie.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("operator_id", sa.String(36), sa.ForeignKey("operators.id"), nullable=False, index=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime()),
)

outbox = outbox_table(metadata)
