"""Privacy-center forms waiting for their e-mailed code: the validated body sealed under the subject's data key, the
code and the link token only as keyed hashes; the right code turns one into a request (in the same transaction the
form is marked submitted and its code e-mails go on the request's timeline)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.common.crypto import Sealed, Sealer, keyed_hash
from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads.requests import NoticeSentPayload
from services.common.topics import REQUESTS, TopicNames
from services.intake import orm
from services.intake.api_models import SubmitRequest
from services.intake.codes import CodeCheck, CodeState, check_code, code_hash, new_code, new_token, token_hash
from services.intake.status_links import StatusLink

AWAITING, VOID, SUBMITTED = "awaiting_code", "void", "submitted"
PRODUCER = "intake"


@dataclass(frozen=True)
class Delivery:
    """One code e-mail's outcome, kept for its NoticeSent (no address: `recipient_key` is a keyed hash)."""

    attempt: int
    delivery: str  # sent | failed
    detail: str | None
    message_id: str | None
    at: datetime
    template: str
    template_version: str
    recipient_key: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


@dataclass(frozen=True)
class Pending:
    pending_id: str
    subject_key: str
    request_type: str
    state: str
    expires_at: datetime
    tries_left: int
    codes_sent: int
    deliveries: tuple[Delivery, ...]
    request_id: str | None

    @property
    def last_delivery_failed(self) -> bool:
        return bool(self.deliveries) and self.deliveries[-1].delivery != "sent"


class PendingSubmissions:
    def __init__(self, engine: sa.Engine, sealer: Sealer, secret: bytes, lifetime: timedelta, tries: int) -> None:
        self.engine = engine
        self.sealer = sealer
        self._secret = secret
        self.lifetime = lifetime
        self.tries = tries

    def create(self, body: SubmitRequest, subject_key: str, now: datetime) -> tuple[str, str, str]:
        """A new pending form: (its pending id, its link token, its code), the last two given once, in clear."""
        pending_id, token, code = str(uuid.uuid4()), new_token(), new_code()
        sealed = self.sealer.seal(body.model_dump(mode="json"), subject_key, pending_id)
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(orm.pending_submissions).where(orm.pending_submissions.c.expires_at < now - timedelta(days=1))
            )
            conn.execute(
                sa.insert(orm.pending_submissions).values(
                    pending_id=pending_id,
                    token_hash=token_hash(self._secret, token),
                    subject_key=subject_key,
                    request_type=body.type.value,
                    body_sealed=sealed.to_json(),
                    code_hash=code_hash(self._secret, pending_id, code),
                    created_at=now,
                    expires_at=now + self.lifetime,
                    tries_left=self.tries,
                    codes_sent=0,
                    deliveries=[],
                    state=AWAITING,
                )
            )
        return pending_id, token, code

    def find(self, token: str) -> Pending | None:
        with self.engine.connect() as conn:
            row = self._row(conn, token, lock=False)
        return _pending(row) if row is not None else None

    def renew_code(self, pending_id: str, now: datetime) -> str:
        """A new code replacing the old one, working for the full lifetime again (the tries left stay)."""
        code = new_code()
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(orm.pending_submissions)
                .where(orm.pending_submissions.c.pending_id == pending_id)
                .values(code_hash=code_hash(self._secret, pending_id, code), expires_at=now + self.lifetime)
            )
        return code

    def record_delivery(self, pending_id: str, delivery: Delivery) -> None:
        table = orm.pending_submissions
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(table.c.deliveries).where(table.c.pending_id == pending_id).with_for_update()
            ).one()
            conn.execute(
                sa.update(table)
                .where(table.c.pending_id == pending_id)
                .values(deliveries=[*row.deliveries, delivery.to_json()], codes_sent=table.c.codes_sent + 1)
            )

    def try_code(self, token: str, typed: str, now: datetime) -> tuple[CodeCheck, Pending] | None:
        """Check a typed code, spending a try when it is wrong; None when no pending form has this link."""
        table = orm.pending_submissions
        with self.engine.begin() as conn:
            row = self._row(conn, token, lock=True)
            if row is None:
                return None
            if row.state == SUBMITTED:
                return CodeCheck.RIGHT, _pending(row)
            state = CodeState(row.code_hash, row.expires_at, row.tries_left if row.state == AWAITING else 0)
            checked = check_code(self._secret, row.pending_id, state, typed, now)
            if checked in (CodeCheck.WRONG, CodeCheck.VOID):
                values = {"tries_left": max(0, row.tries_left - 1)}
                values |= {"state": VOID, "body_sealed": sa.null()} if checked is CodeCheck.VOID else {}
                conn.execute(sa.update(table).where(table.c.pending_id == row.pending_id).values(**values))
                row = self._row(conn, token, lock=False)
        assert row is not None
        return checked, _pending(row)

    def body_of(self, pending: Pending) -> SubmitRequest:
        with self.engine.connect() as conn:
            sealed = conn.execute(
                sa.select(orm.pending_submissions.c.body_sealed).where(
                    orm.pending_submissions.c.pending_id == pending.pending_id
                )
            ).scalar_one()
        document = self.sealer.open(Sealed.from_json(sealed), pending.subject_key, pending.pending_id)
        return SubmitRequest.model_validate(document)

    def status_token(self, pending: Pending) -> str | None:
        """The status link's token of the request this form became (a double submit is sent there too)."""
        with self.engine.connect() as conn:
            sealed = conn.execute(
                sa.select(orm.pending_submissions.c.status_sealed).where(
                    orm.pending_submissions.c.pending_id == pending.pending_id
                )
            ).scalar_one()
        if sealed is None or pending.request_id is None:
            return None
        return str(self.sealer.open(Sealed.from_json(sealed), pending.subject_key, pending.request_id)["token"])

    def mark_submitted(self, conn: sa.Connection, pending: Pending, request_id: str, link: StatusLink) -> None:
        """In the request's transaction: the form is done, its body gone, its status link kept sealed."""
        sealed = self.sealer.seal({"token": link.token}, pending.subject_key, request_id)
        table = orm.pending_submissions
        conn.execute(
            sa.update(table)
            .where(table.c.pending_id == pending.pending_id)
            .values(state=SUBMITTED, request_id=request_id, body_sealed=sa.null(), status_sealed=sealed.to_json())
        )

    def recipient_key(self, email: str) -> str:
        return keyed_hash(self._secret, "recipient", email.strip().lower())

    def idempotency_key(self, pending: Pending) -> str:
        """One key per pending form: submitting it twice gives one request."""
        return f"privacy-center:{pending.pending_id}"

    def _row(self, conn: sa.Connection, token: str, lock: bool) -> sa.Row[Any] | None:
        query = sa.select(orm.pending_submissions).where(
            orm.pending_submissions.c.token_hash == token_hash(self._secret, token)
        )
        return conn.execute(query.with_for_update() if lock else query).first()


def notice_events(topics: TopicNames, pending: Pending, request_id: str) -> list[tuple[str, Event]]:
    """Each code e-mail of the form as a NoticeSent on the request's timeline."""
    return [
        (
            topics(REQUESTS),
            Event(
                EventType.NOTICE_SENT,
                pending.subject_key,
                PRODUCER,
                request_id=request_id,
                occurred_at=sent.at,
                payload=NoticeSentPayload(
                    notice="verification_code",
                    template=sent.template,
                    template_version=sent.template_version,
                    attempt=sent.attempt,
                    delivery=sent.delivery,
                    detail=sent.detail,
                    recipient_key=sent.recipient_key,
                    message_id=sent.message_id,
                ),
            ),
        )
        for sent in pending.deliveries
    ]


def _pending(row: sa.Row[Any]) -> Pending:
    return Pending(
        row.pending_id,
        row.subject_key,
        row.request_type,
        row.state,
        row.expires_at,
        row.tries_left,
        row.codes_sent,
        tuple(Delivery.from_json(d) for d in row.deliveries),
        row.request_id,
    )
