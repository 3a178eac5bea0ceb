"""What a completed deletion ends at intake: the subject's earlier report links (revoked) and, once no open request
of the subject and no undelivered provider instruction needs it, the subject's data key (shredded)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from services.common.events import Event, utcnow
from services.common.payloads.deletion import DeletionCompletedPayload
from services.intake import orm

log = logging.getLogger(__name__)
FINAL_STATUSES = frozenset({"completed", "denied"})


class KeyShredder(Protocol):
    def shred_subject(self, subject_key: str) -> int: ...


@dataclass(frozen=True)
class CompletedDeletion:
    request_id: str
    completed_at: datetime
    undelivered: tuple[str, ...]


def revoked_at(ready_at: datetime, deletions_completed_at: Iterable[datetime]) -> datetime | None:
    """The first deletion completed at or after the report was ready revokes it; a later report stands."""
    return min((at for at in deletions_completed_at if at >= ready_at), default=None)


def may_shred(unshredded: Sequence[CompletedDeletion], open_requests: int) -> bool:
    """A completed deletion asks for the shred; an open request (its service still opens the identifiers) or an
    instruction not yet delivered to a provider (it carries them sealed) holds it back."""
    return bool(unshredded) and open_requests == 0 and not any(d.undelivered for d in unshredded)


def record_deletion(conn: sa.Connection, event: Event[DeletionCompletedPayload]) -> None:
    """DeletionCompleted of a delete request: kept once (a redelivery under a new event id changes nothing)."""
    table = orm.completed_deletions
    if conn.execute(sa.select(table.c.request_id).where(table.c.request_id == event.request_id)).first():
        return
    conn.execute(sa.insert(table).values(request_id=event.request_id, subject_key=event.subject_key,
                                         completed_at=event.occurred_at,
                                         undelivered=list(event.payload.undelivered)))  # fmt: skip


def deletions_of(conn: sa.Connection, subject_key: str) -> list[sa.Row[Any]]:
    table = orm.completed_deletions
    return list(conn.execute(sa.select(table).where(table.c.subject_key == subject_key)))


class SubjectKeys:
    """Shreds a deleted subject's data key in the results consumer's transaction, when `may_shred` says so."""

    def __init__(self, keystore: KeyShredder) -> None:
        self.keystore = keystore

    def settle(self, conn: sa.Connection, subject_key: str) -> bool:
        unshredded = [CompletedDeletion(row.request_id, row.completed_at, tuple(row.undelivered))
                      for row in deletions_of(conn, subject_key) if row.key_shredded_at is None]  # fmt: skip
        if not may_shred(unshredded, self._open_requests(conn, subject_key)):
            return False
        # Shredding twice is harmless, so a rollback after this line only repeats it on redelivery.
        shredded = self.keystore.shred_subject(subject_key)
        table = orm.completed_deletions
        conn.execute(sa.update(table).where(table.c.request_id.in_([d.request_id for d in unshredded]))
                     .values(key_shredded_at=utcnow()))  # fmt: skip
        log.info("deleted subject's data key shredded", extra={"subject_key": subject_key, "keys": shredded})
        return True

    @staticmethod
    def _open_requests(conn: sa.Connection, subject_key: str) -> int:
        requests = orm.requests
        query = sa.select(sa.func.count()).where(requests.c.subject_key == subject_key,
                                                 requests.c.status.not_in(FINAL_STATUSES))  # fmt: skip
        return int(conn.execute(query).scalar_one())
