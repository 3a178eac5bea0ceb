"""What a completed deletion ends at intake: the subject's earlier report links (revoked) and, once the deletion is
verified and no open request of the subject and no undelivered provider instruction needs it, the subject's data
key (shredded, with `KeysShredded` on the deletion request's timeline)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.outbox import Outbox
from services.common.payloads.deletion import DeletionCompletedPayload
from services.common.payloads.requests import KeysShreddedPayload
from services.common.topics import REQUESTS, TopicNames
from services.intake import orm

log = logging.getLogger(__name__)
FINAL_STATUSES = frozenset({"completed", "denied"})


PRODUCER = "intake"


class KeyShredder(Protocol):
    def shred_subject_keys(self, subject_key: str) -> list[str]: ...


@dataclass(frozen=True)
class CompletedDeletion:
    request_id: str
    completed_at: datetime
    undelivered: tuple[str, ...]
    verified: bool = True


def revoked_at(ready_at: datetime, deletions_completed_at: Iterable[datetime]) -> datetime | None:
    """The first deletion completed at or after the report was ready revokes it; a later report stands."""
    return min((at for at in deletions_completed_at if at >= ready_at), default=None)


def may_shred(unshredded: Sequence[CompletedDeletion], open_requests: int) -> bool:
    """A verified deletion asks for the shred: the latest one's re-walk found nothing left (an unverified one may
    still need the identifiers to erase again). An open request (its service still opens the identifiers) or an
    instruction not yet delivered to a provider (it carries them sealed) holds it back."""
    if not unshredded or open_requests or any(d.undelivered for d in unshredded):
        return False
    return max(unshredded, key=lambda d: d.completed_at).verified


def keys_shredded(subject_key: str, key_ids: Sequence[str], *, request_id: str | None = None,
                  deletion_request_ids: Sequence[str] = (), operator: str | None = None,
                  reason: str | None = None, producer: str = PRODUCER) -> Event[KeysShreddedPayload]:  # fmt: skip
    """The timeline's record of a shred: which keys (ids, not secrets), for which deletions, or by whom and why."""
    payload = KeysShreddedPayload(keys=len(key_ids), key_ids=tuple(key_ids),
                                  deletion_request_ids=tuple(deletion_request_ids), shredded_at=utcnow(),
                                  trigger="operator" if operator else "deletion_completed", operator=operator,
                                  reason=reason)  # fmt: skip
    return Event(EventType.KEYS_SHREDDED, subject_key, producer, payload, request_id=request_id)


def record_deletion(conn: sa.Connection, event: Event[DeletionCompletedPayload]) -> None:
    """DeletionCompleted of a delete request: kept once (a redelivery under a new event id changes nothing)."""
    table = orm.completed_deletions
    if conn.execute(sa.select(table.c.request_id).where(table.c.request_id == event.request_id)).first():
        return
    conn.execute(sa.insert(table).values(request_id=event.request_id, subject_key=event.subject_key,
                                         completed_at=event.occurred_at, verified=event.payload.verified,
                                         undelivered=list(event.payload.undelivered)))  # fmt: skip


def deletions_of(conn: sa.Connection, subject_key: str) -> list[sa.Row[Any]]:
    table = orm.completed_deletions
    return list(conn.execute(sa.select(table).where(table.c.subject_key == subject_key)))


class SubjectKeys:
    """Shreds a deleted subject's data key in the results consumer's transaction, when `may_shred` says so, and
    puts one `KeysShredded` per concluded delete request in the outbox, in that transaction."""

    def __init__(self, keystore: KeyShredder, outbox: Outbox, topics: TopicNames) -> None:
        self.keystore = keystore
        self.outbox = outbox
        self.topics = topics

    def settle(self, conn: sa.Connection, subject_key: str) -> bool:
        unshredded = [CompletedDeletion(row.request_id, row.completed_at, tuple(row.undelivered), row.verified)
                      for row in deletions_of(conn, subject_key) if row.key_shredded_at is None]  # fmt: skip
        if not may_shred(unshredded, self._open_requests(conn, subject_key)):
            return False
        # Shredding twice is harmless, so a rollback after this line only repeats it on redelivery (the event then
        # names no key: they were shredded by the attempt that rolled back).
        key_ids = self.keystore.shred_subject_keys(subject_key)
        concluded = sorted(d.request_id for d in unshredded)
        table = orm.completed_deletions
        conn.execute(sa.update(table).where(table.c.request_id.in_(concluded)).values(key_shredded_at=utcnow()))
        events = [keys_shredded(subject_key, key_ids, request_id=request_id, deletion_request_ids=concluded)
                  for request_id in concluded]  # fmt: skip
        self.outbox.add(conn, self.topics(REQUESTS), events)
        log.info("deleted subject's data key shredded", extra={"subject_key": subject_key, "keys": len(key_ids)})
        return True

    @staticmethod
    def _open_requests(conn: sa.Connection, subject_key: str) -> int:
        requests = orm.requests
        query = sa.select(sa.func.count()).where(requests.c.subject_key == subject_key,
                                                 requests.c.status.not_in(FINAL_STATUSES))  # fmt: skip
        return int(conn.execute(query).scalar_one())
