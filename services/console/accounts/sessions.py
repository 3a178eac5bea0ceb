"""Sessions: a random token in an HttpOnly, Secure, SameSite=Strict cookie, known to the database by its SHA-256;
over after `session_hours`, after `idle_minutes` unused, at sign-out, or when the account is disabled."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.console import orm
from services.console.accounts.roles import Operator, Role

S, A = orm.sessions, orm.operators
COOKIE = "ccpa_console_session"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta
    idle: timedelta


class Sessions:
    def __init__(self, engine: sa.Engine, policy: SessionPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def start(self, operator_id: str, now: datetime) -> str:
        """A new session for the account; the token for the cookie (a fresh one at every sign-in: no fixation)."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(S).values(token_sha256=digest(token), operator_id=operator_id, created_at=now,
                                             last_seen_at=now, expires_at=now + self.policy.lifetime))  # fmt: skip
        return token

    def resolve(self, token: str, now: datetime) -> Operator | None:
        """The person a live session belongs to (and the session touched), or None."""
        key = digest(token)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(S.c.last_seen_at, S.c.expires_at, A.c.id, A.c.display_name, A.c.role, A.c.disabled)
                .join(A, A.c.id == S.c.operator_id)
                .where(S.c.token_sha256 == key, S.c.ended_at.is_(None))
            ).first()
            if row is None or row.disabled or now >= row.expires_at or now - row.last_seen_at >= self.policy.idle:
                if row is not None:
                    conn.execute(sa.update(S).where(S.c.token_sha256 == key).values(ended_at=now))
                return None
            conn.execute(sa.update(S).where(S.c.token_sha256 == key).values(last_seen_at=now))
        return Operator(row.id, row.display_name, Role(row.role))

    def end(self, token: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(S).where(S.c.token_sha256 == digest(token), S.c.ended_at.is_(None))
                         .values(ended_at=now))  # fmt: skip
