"""Signed HTTP requests between the deletion service and its providers: HMAC-SHA256 over a canonical string, checked
for age and replay. The canonical string, headers and answers are specified in docs/providers.md.

    canonical = f"{timestamp}.{METHOD}.{path}.{sha256_hex(body)}"
    X-CCPA-Timestamp: <unix seconds>    X-CCPA-Signature: v1=<hex HMAC-SHA256(secret, canonical)>
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from services.common.db import insert_for

TIMESTAMP_HEADER = "X-CCPA-Timestamp"
SIGNATURE_HEADER = "X-CCPA-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
PURGE_EVERY_SECONDS = 60.0


def canonical_string(timestamp: int, method: str, path: str, body: bytes) -> bytes:
    """What is signed: `path` is the request target as sent (path, plus `?query` when there is one)."""
    return f"{timestamp}.{method.upper()}.{path}.{hashlib.sha256(body).hexdigest()}".encode()


def signature(secret: bytes, canonical: bytes) -> str:
    return hmac.new(secret, canonical, hashlib.sha256).hexdigest()


def sign(secret: bytes, method: str, path: str, body: bytes, idempotency_key: str | None = None,
         now: float | None = None) -> dict[str, str]:  # fmt: skip
    """The headers that sign one request; a retry is signed again (fresh timestamp, same idempotency key)."""
    if not secret:
        raise ValueError("signing secret is empty; expected the shared secret of the recipient")
    timestamp = int(time.time() if now is None else now)
    headers = {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, canonical_string(timestamp, method, path, body))}",
    }
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


class SignatureRejected(Exception):
    """Unsigned, badly signed, stale or replayed: answer 401, do nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DuplicateRequest(Exception):
    """Validly signed, but its idempotency key was received before: answer 409, never apply it again."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(f"idempotency key {idempotency_key} was received before")
        self.idempotency_key = idempotency_key


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    body: bytes
    headers: Mapping[str, str]  # case-insensitive (Starlette, httpx) or already lower-cased

    def header(self, name: str) -> str | None:
        return self.headers.get(name) or self.headers.get(name.lower())


class NonceStore(Protocol):
    """Remembers signatures and idempotency keys until they expire; `claim` is an atomic insert-if-absent.

    With `conn`, the claim joins the caller's transaction: if applying the request fails and rolls back, the
    nonce is not spent and the sender's retry is not mistaken for a duplicate.
    """

    def claim(self, nonce: str, expires_at: int, conn: sa.Connection | None = None) -> bool: ...


class MemoryNonceStore:
    """For one process (tests, a single replica)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        self.purged_at = 0.0

    def claim(self, nonce: str, expires_at: int, conn: sa.Connection | None = None) -> bool:
        with self.lock:
            self._purge()
            if nonce in self.seen:
                return False
            self.seen[nonce] = expires_at
            return True

    def _purge(self) -> None:
        now = self.clock()
        if now - self.purged_at >= PURGE_EVERY_SECONDS:
            self.seen = {nonce: expires for nonce, expires in self.seen.items() if expires >= now}
            self.purged_at = now


def nonce_table(metadata: sa.MetaData, name: str = "signature_nonces") -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("nonce", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    )


class SqlNonceStore:
    """Shared by every replica through the database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, table: sa.Table, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.table = table
        self.clock = clock
        self.purged_at = 0.0

    def claim(self, nonce: str, expires_at: int, conn: sa.Connection | None = None) -> bool:
        if conn is not None:
            return self._insert_if_absent(conn, nonce, expires_at)
        with self.engine.begin() as own:
            return self._insert_if_absent(own, nonce, expires_at)

    def purge(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(self.table).where(self.table.c.expires_at < int(self.clock()))).rowcount

    def _insert_if_absent(self, conn: sa.Connection, nonce: str, expires_at: int) -> bool:
        if self.clock() - self.purged_at >= PURGE_EVERY_SECONDS:
            self.purged_at = self.clock()
            conn.execute(sa.delete(self.table).where(self.table.c.expires_at < int(self.purged_at)))
        values = {"nonce": nonce, "expires_at": expires_at}
        insert = insert_for(conn, self.table).values(values).on_conflict_do_nothing()
        # RETURNING rather than rowcount: psycopg reports no rowcount for a skipped ON CONFLICT insert.
        return conn.execute(insert.returning(self.table.c.nonce)).first() is not None


class Verifier:
    """Checks signature, age and replay of requests signed with `sign`."""

    def __init__(self, nonces: NonceStore, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.nonces = nonces
        self.tolerance = tolerance_seconds
        self.clock = clock

    def verify(self, secret: bytes, request: SignedRequest, scope: str = "",
               conn: sa.Connection | None = None) -> str | None:  # fmt: skip
        """The request's idempotency key (None when it has none); SignatureRejected or DuplicateRequest otherwise.

        `scope` separates the idempotency keys of different senders (e.g. the recipient's name).
        """
        if not secret:
            raise SignatureRejected("no signing secret configured for this sender")
        timestamp = self._timestamp(request)
        expected = signature(secret, canonical_string(timestamp, request.method, request.path, request.body))
        if not hmac.compare_digest(expected.encode(), self._supplied_signature(request).encode()):
            raise SignatureRejected("signature does not match the request")
        expires_at = timestamp + self.tolerance
        if not self.nonces.claim(f"sig:{expected}", expires_at, conn):
            raise SignatureRejected("replayed request: this signature was already used")
        key = request.header(IDEMPOTENCY_HEADER)
        if key is not None and not self.nonces.claim(f"key:{scope}:{key}", expires_at, conn):
            raise DuplicateRequest(key)
        return key

    def _timestamp(self, request: SignedRequest) -> int:
        raw = request.header(TIMESTAMP_HEADER) or ""
        if not raw.isdigit():
            raise SignatureRejected(f"missing or malformed {TIMESTAMP_HEADER}; expected unix seconds")
        timestamp = int(raw)
        if abs(self.clock() - timestamp) > self.tolerance:
            raise SignatureRejected(f"{TIMESTAMP_HEADER} is outside the {self.tolerance} s window; check clocks")
        return timestamp

    @staticmethod
    def _supplied_signature(request: SignedRequest) -> str:
        raw = request.header(SIGNATURE_HEADER) or ""
        scheme, _, value = raw.partition("=")
        if scheme != SCHEME or not value:
            raise SignatureRejected(f"missing or malformed {SIGNATURE_HEADER}; expected {SCHEME}=<hex>")
        return value
