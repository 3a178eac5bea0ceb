"""What a completed deletion ends at intake: the subject's earlier report links (revoked) and, once the deletion is
verified and no open request, undelivered provider instruction or later report of the subject needs it, the
subject's data key (shredded, with `KeysShredded` on the deletion request's timeline)."""

from __future__ import annotations

import logging
import threading
import time
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
HEARTBEAT_SECONDS = 5.0  # the runtime calls a worker stuck after 30 s without a loop


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


def may_shred(unshredded: Sequence[CompletedDeletion], open_requests: int, standing_reports: int = 0) -> bool:
    """A verified deletion asks for the shred: the latest one's re-walk found nothing left (an unverified one may
    still need the identifiers to erase again). An open request (its service still opens the identifiers), an
    instruction not yet delivered to a provider (it carries them sealed) or a report built after the deletion and
    not yet expired (sealed under the same key, its link still promised to the consumer) holds it back."""
    if not unshredded or open_requests or standing_reports or any(d.undelivered for d in unshredded):
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
        table = orm.completed_deletions
        # Locked: the results consumer and the sweep may settle one subject at once; the second then sees it done.
        rows = conn.execute(sa.select(table).where(table.c.subject_key == subject_key,
                                                   table.c.key_shredded_at.is_(None)).with_for_update())  # fmt: skip
        unshredded = [CompletedDeletion(row.request_id, row.completed_at, tuple(row.undelivered), row.verified)
                      for row in rows]  # fmt: skip
        # An e-mail still to send (the deletion's answer) holds the shred too: the worker settles again once it is done.
        standing = self._standing_reports(conn, subject_key) + self._pending_notices(conn, subject_key)
        if not may_shred(unshredded, self._open_requests(conn, subject_key), standing):
            return False
        # Shredding twice is harmless, so a rollback after this line only repeats it on redelivery (the event then
        # names no key: they were shredded by the attempt that rolled back).
        key_ids = self.keystore.shred_subject_keys(subject_key)
        concluded = sorted(d.request_id for d in unshredded)
        conn.execute(sa.update(table).where(table.c.request_id.in_(concluded)).values(key_shredded_at=utcnow()))
        events = [keys_shredded(subject_key, key_ids, request_id=request_id, deletion_request_ids=concluded)
                  for request_id in concluded]  # fmt: skip
        self.outbox.add(conn, self.topics(REQUESTS), events)
        log.info("deleted subject's data key shredded", extra={"subject_key": subject_key, "keys": len(key_ids)})
        return True

    def settle_pending(self, engine: sa.Engine) -> int:
        """Settle every subject whose deletion is not shredded yet, each in its own transaction: a hold that ends
        with no event of the subject (a report expiring) ends here. The number of subjects shredded."""
        table = orm.completed_deletions
        with engine.connect() as conn:
            pending = list(conn.execute(sa.select(table.c.subject_key).where(table.c.key_shredded_at.is_(None))
                                        .distinct()).scalars())  # fmt: skip
        shredded = 0
        for subject_key in pending:
            with engine.begin() as conn:
                shredded += self.settle(conn, subject_key)
        return shredded

    @staticmethod
    def _standing_reports(conn: sa.Connection, subject_key: str) -> int:
        reports, requests, reviews = orm.reports, orm.requests, orm.reviews
        withdrawn = sa.select(reviews.c.request_id).where(reviews.c.state == "denied")  # by its review
        query = (sa.select(reports.c.ready_at).join(requests, requests.c.request_id == reports.c.request_id)
                 .where(requests.c.subject_key == subject_key, reports.c.expires_at > utcnow(),
                        reports.c.request_id.not_in(withdrawn)))  # fmt: skip
        completed = [row.completed_at for row in deletions_of(conn, subject_key)]
        return sum(revoked_at(ready_at, completed) is None for ready_at in conn.execute(query).scalars())

    @staticmethod
    def _pending_notices(conn: sa.Connection, subject_key: str) -> int:
        notices = orm.notices
        query = sa.select(sa.func.count()).where(notices.c.subject_key == subject_key, notices.c.status == "pending")
        return int(conn.execute(query).scalar_one())

    @staticmethod
    def _open_requests(conn: sa.Connection, subject_key: str) -> int:
        requests = orm.requests
        query = sa.select(sa.func.count()).where(requests.c.subject_key == subject_key,
                                                 requests.c.status.not_in(FINAL_STATUSES))  # fmt: skip
        return int(conn.execute(query).scalar_one())


class KeySweep:
    """Intake's worker that re-settles the deletions whose shred is held back, every `interval` seconds."""

    def __init__(self, keys: SubjectKeys, engine: sa.Engine, interval: float) -> None:
        self.keys, self.engine, self.interval = keys, engine, interval
        self.last_loop_at = utcnow()

    def run(self, stop: threading.Event) -> None:
        due = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= due:
                self._sweep()
                due = time.monotonic() + self.interval
            self.last_loop_at = utcnow()
            stop.wait(min(self.interval, HEARTBEAT_SECONDS))

    def _sweep(self) -> None:
        try:
            self.keys.settle_pending(self.engine)
        except sa.exc.SQLAlchemyError as exc:  # a database outage: the next round tries again
            log.warning("key sweep failed; trying again next round", extra={"error": type(exc).__name__})
