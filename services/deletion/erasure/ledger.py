"""Suppression ledger (§7022(e) allows keeping what prevents re-collection): keyed hashes of deleted identifiers,
so a restored backup or a re-sync can be scrubbed again without the ledger itself holding personal information.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from services.common.db import insert_for
from services.common.stores.values import batched, identifier_values, normalise_identifier
from services.deletion.erasure.tables import suppression_ledger

BATCH_SIZE = 500
MIN_KEY_BYTES = 32


class Ledger:
    """Entries are HMAC-SHA256(key, kind + normalised value); the key stays with the deletion service."""

    def __init__(self, engine: sa.Engine, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the ledger key must have at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        self.engine = engine
        self._key = key

    def digest(self, kind: str, value: Any) -> str | None:
        """The entry for one identifier; None when the value has no normal form (empty, binary)."""
        text = normalise_identifier(kind, value)
        if text is None:
            return None
        return hmac.new(self._key, f"{kind}\x1f{text}".encode(), hashlib.sha256).hexdigest()

    def add(self, conn: sa.Connection, request_id: str, identifiers: Mapping[str, Iterable[str]],
            subject_key: str | None = None, deleted_at: datetime | None = None) -> int:  # fmt: skip
        """Record the erased identifiers in the caller's transaction; returns how many entries are new."""
        moment = deleted_at or datetime.now(UTC)
        rows = {digest: {"digest": digest, "kind": kind, "request_id": request_id, "subject_key": subject_key,
                         "deleted_at": moment}
                for kind, values in identifiers.items() for value in values
                if (digest := self.digest(kind, value))}  # fmt: skip
        added = 0
        for batch in batched(list(rows.values()), BATCH_SIZE):
            rows_batch = insert_for(conn, suppression_ledger).values(list(batch))
            statement = rows_batch.on_conflict_do_nothing(index_elements=["digest"])
            added += len(conn.execute(statement.returning(suppression_ledger.c.digest)).all())
        return added

    def covers(self, kind: str, value: Any) -> bool:
        return bool(self.covered(kind, [value]))

    def covered(self, kind: str, values: Iterable[Any]) -> dict[str, str | None]:
        """Of `values` (normal forms), those the ledger covers, each with the subject_key it was erased under."""
        texts = {text for value in values if (text := normalise_identifier(kind, value))}
        by_digest = {digest: text for text in texts if (digest := self.digest(kind, text))}
        found: dict[str, str | None] = {}
        with self.engine.connect() as conn:
            for batch in batched(sorted(by_digest), BATCH_SIZE):
                query = sa.select(suppression_ledger.c.digest, suppression_ledger.c.subject_key).where(
                    suppression_ledger.c.digest.in_(list(batch)))  # fmt: skip
                found.update({by_digest[row.digest]: row.subject_key for row in conn.execute(query)})
        return found

    def suppressed(self, identifiers: Mapping[str, Any]) -> bool:
        """True when any identifier (kind → a value or a list of values) belongs to an erased subject."""
        return any(self.covered(kind, list(identifier_values(kind, value))) for kind, value in identifiers.items())


def should_suppress(ledger: Ledger, record_identifiers: Mapping[str, Any]) -> bool:
    """Ask before ingesting or re-syncing a record: True means it is an erased subject's and must not be stored.

    `record_identifiers` maps kinds (email, account_id, device_id, …) to the record's value or values.
    """
    return ledger.suppressed(record_identifiers)
