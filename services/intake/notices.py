"""The queue of consumer e-mails: a notice is queued in the transaction of the event that causes it (once per
request and notice, so a redelivered event queues nothing more), its address and context sealed under the
subject's data key, and claimed by the notice worker under a short lease."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.crypto import KeyShredded, Sealed, Sealer, keyed_hash
from services.common.identity import IdentifierKind
from services.common.leases import DEFAULT_LEASE_SECONDS, Leases
from services.intake import orm
from services.intake.mail.templates import template_for
from services.intake.status_links import StatusLinks

log = logging.getLogger(__name__)
PENDING, SENT, FAILED = "pending", "sent", "failed"
HELD, WITHDRAWN = "held", "withdrawn"  # an answer waiting for its review; one the review withdrew (never sent)


@dataclass(frozen=True)
class QueuedNotice:
    """One e-mail as the worker sees it once claimed: still sealed."""

    notice_id: str
    request_id: str
    subject_key: str
    notice: str
    template: str
    template_version: str
    recipient_sealed: Mapping[str, str]
    recipient_key: str
    context_sealed: Mapping[str, str]
    attempts: int

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> QueuedNotice:
        return cls.from_row_mapping(row._mapping)

    @classmethod
    def from_row_mapping(cls, row: Mapping[Any, Any]) -> QueuedNotice:
        return cls(**{field.name: row[field.name] for field in fields(cls)})


@dataclass(frozen=True)
class OpenedNotice:
    recipient: str
    context: dict[str, Any]


def recipient_key(secret: bytes, address: str) -> str:
    """The keyed hash NoticeSent carries instead of the address."""
    return keyed_hash(secret, "notice-recipient", address)


class NoticeQueue:
    """Queues notices (in the caller's transaction), claims the due ones and settles each after its attempt."""

    def __init__(self, engine: sa.Engine, sealer: Sealer, subject_secret: bytes, status_links: StatusLinks,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:  # fmt: skip
        self.engine = engine
        self.sealer = sealer
        self.subject_secret = subject_secret
        self.status_links = status_links
        self.leases = Leases(engine, orm.notices, "notice_id", lease_seconds)
        self.wakeup = threading.Event()

    def enqueue(self, conn: sa.Connection, request: Mapping[Any, Any], notice: str, context: Mapping[str, Any],
                now: datetime, status_token: str | None = None, *, held: bool = False,
                dedup: str | None = None) -> bool:  # fmt: skip
        """Queue `notice` to the request's e-mail address, with a status link (a fresh one unless `status_token`):
        False when the request gave no address, its key is shredded, or this notice was queued before (`dedup`, by
        default the request and notice). `held`: kept unsent until its review releases it."""
        request_id, subject_key = str(request["request_id"]), str(request["subject_key"])
        dedup_key = dedup or f"{request_id}:{notice}"
        if conn.execute(sa.select(orm.notices.c.notice_id).where(orm.notices.c.dedup_key == dedup_key)).first():
            return False
        address = self._address(request)
        if address is None:
            return False
        token = status_token or self.status_links.issue(conn, request_id, request["received_at"]).token
        full = {"request_type": request["request_type"], **context, "status_url": self.status_links.url(token)}
        template = template_for(notice)
        conn.execute(sa.insert(orm.notices).values(
            notice_id=str(uuid.uuid4()), dedup_key=dedup_key, request_id=request_id, subject_key=subject_key,
            notice=notice, template=template.name, template_version=template.version,
            recipient_sealed=self.sealer.seal({"address": address}, subject_key, request_id).to_json(),
            recipient_key=recipient_key(self.subject_secret, address),
            context_sealed=self.sealer.seal(full, subject_key, request_id).to_json(),
            status=HELD if held else PENDING, attempts=0, next_attempt_at=now, created_at=now,
        ))  # fmt: skip
        return True

    def enqueue_for(self, conn: sa.Connection, request_id: str | None, notice: str, context: Mapping[str, Any],
                    now: datetime, *, held: bool = False) -> bool:  # fmt: skip
        """`enqueue` for a request known by id (a result event about it); False for a request intake never took."""
        request = conn.execute(sa.select(orm.requests).where(orm.requests.c.request_id == request_id)).first()
        return request is not None and self.enqueue(conn, request._mapping, notice, context, now, held=held)

    def release_held(self, conn: sa.Connection, request_id: str, now: datetime) -> int:
        """The request's held notices become due now (its answer was approved); how many."""
        return self._move_held(conn, request_id, {"status": PENDING, "next_attempt_at": now})

    def withdraw_held(self, conn: sa.Connection, request_id: str) -> int:
        """The request's held notices will never be sent (its answer was withdrawn); how many."""
        return self._move_held(conn, request_id, {"status": WITHDRAWN})

    def copy(self, conn: sa.Connection, original: Mapping[Any, Any], now: datetime) -> str:
        """A fresh copy of a notice, due now, with the same sealed address and content: its id. KeyShredded when
        the subject's key is gone (nothing could be sent)."""
        self.open(QueuedNotice.from_row_mapping(original))
        notice_id = str(uuid.uuid4())
        columns = ("request_id", "subject_key", "notice", "template", "template_version", "recipient_sealed",
                   "recipient_key", "context_sealed")  # fmt: skip
        conn.execute(sa.insert(orm.notices).values(
            notice_id=notice_id, dedup_key=f"resend:{notice_id}", status=PENDING, attempts=0, next_attempt_at=now,
            created_at=now, resent_from=original["notice_id"], **{column: original[column] for column in columns},
        ))  # fmt: skip
        return notice_id

    @staticmethod
    def _move_held(conn: sa.Connection, request_id: str, values: Mapping[str, Any]) -> int:
        table = orm.notices
        moved = conn.execute(sa.update(table).where(table.c.request_id == request_id, table.c.status == HELD)
                             .values(**values))  # fmt: skip
        return int(moved.rowcount)

    def wake(self) -> None:
        """Something was queued and committed: the worker looks now instead of at its next poll."""
        self.wakeup.set()

    def claim(self, limit: int, now: datetime) -> list[QueuedNotice]:
        table = orm.notices
        rows = self.leases.claim_due(table.c.status == PENDING, (table.c.next_attempt_at,), limit, now)
        return [QueuedNotice.from_row(row) for row in rows]

    def open(self, notice: QueuedNotice) -> OpenedNotice:
        """The address and the template's context, or KeyShredded once the subject's key is gone."""
        opened = self.sealer.open(Sealed.from_json(notice.recipient_sealed), notice.subject_key, notice.request_id)
        context = self.sealer.open(Sealed.from_json(notice.context_sealed), notice.subject_key, notice.request_id)
        return OpenedNotice(str(opened["address"]), context)

    def settle(self, conn: sa.Connection, notice: QueuedNotice, values: Mapping[str, Any]) -> None:
        """Record the attempt's outcome and release the lease (LeaseLost if another process took the notice)."""
        self.leases.settle(conn, notice.notice_id, values)

    def heartbeat(self) -> AbstractContextManager[None]:
        return self.leases.heartbeat()

    def release(self, notice: QueuedNotice) -> None:
        self.leases.release(notice.notice_id)

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(orm.notices).where(orm.notices.c.status == PENDING)
            return int(conn.execute(query).scalar_one())

    def _address(self, request: Mapping[Any, Any]) -> str | None:
        if IdentifierKind.EMAIL.value not in request["identifier_kinds"]:
            return None
        try:
            identifiers = self.sealer.open(Sealed.from_json(request["identifiers_sealed"]), str(request["subject_key"]),
                                           str(request["request_id"]))  # fmt: skip
        except KeyShredded:
            log.warning("no notice: the request's identifiers are shredded",
                        extra={"request_id": request["request_id"]})  # fmt: skip
            return None
        address = identifiers.get(IdentifierKind.EMAIL.value)
        return str(address) if address else None
