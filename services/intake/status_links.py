"""The consumer-held link to a request's status page: a random token given once (on the page after submitting and
in the acknowledgement e-mail), stored only as a keyed hash, bound to one request, expiring."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.common.crypto import keyed_hash
from services.intake import orm

TOKEN_BYTES = 32  # 256 bits: unguessable
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # token_urlsafe(32)


class StatusLinkUnknown(LookupError):
    """No request has this status link (mistyped, or never issued)."""


class StatusLinkExpired(LookupError):
    """The status link was valid and has expired."""


@dataclass(frozen=True)
class StatusLink:
    token: str
    expires_at: datetime


class StatusLinks:
    """Issues and resolves status links; `lifetime` from the request's receipt (past its longest clock)."""

    def __init__(self, secret: bytes, public_base_url: str, lifetime: timedelta) -> None:
        self._secret = secret
        self.base = public_base_url.rstrip("/")
        self.lifetime = lifetime

    def issue(self, conn: sa.Connection, request_id: str, received_at: datetime) -> StatusLink:
        """A new link for `request_id`, recorded in the caller's transaction."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = received_at + self.lifetime
        row = {"token_hash": self._hash(token), "request_id": request_id, "created_at": received_at,
               "expires_at": expires_at}  # fmt: skip
        conn.execute(sa.insert(orm.status_links).values(**row))
        return StatusLink(token, expires_at)

    def resolve(self, conn: sa.Connection, token: str, now: datetime) -> str:
        """The request id the link is for, or StatusLinkUnknown / StatusLinkExpired."""
        row = conn.execute(
            sa.select(orm.status_links.c.request_id, orm.status_links.c.expires_at).where(
                orm.status_links.c.token_hash == self._hash(token)
            )
        ).first()
        if row is None:
            raise StatusLinkUnknown("this status link is not known: check it was copied whole")
        if row.expires_at <= now:
            raise StatusLinkExpired("this status link has expired")
        return str(row.request_id)

    def url(self, token: str) -> str:
        return f"{self.base}/privacy/status/{token}"

    def _hash(self, token: str) -> str:
        return keyed_hash(self._secret, "status-link", token)
