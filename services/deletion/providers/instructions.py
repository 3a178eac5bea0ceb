"""The persisted instruction queue: instructions are written inside the caller's transaction (like the outbox) and
sent, retried and confirmed from these rows, so a restart loses nothing. Identifiers are kept sealed, and only
until the recipient has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from services.common.crypto import Sealed
from services.common.db import UtcDateTime, subject_key_column
from services.common.signing import nonce_table
from services.deletion.providers.model import (
    Answer,
    Kind,
    Notice,
    ProviderDirectory,
    State,
    Step,
    check_confirmable,
    instruction_id_for,
    next_state,
    resend_step,
    subject_ref_for,
)

metadata = sa.MetaData()


@dataclass(frozen=True)
class InstructionTables:
    instructions: sa.Table
    attempts: sa.Table
    nonces: sa.Table  # signatures and idempotency keys of provider callbacks already seen


def instruction_tables(metadata: sa.MetaData) -> InstructionTables:
    """The queue's tables, defined on the caller's MetaData (or this module's own `metadata`)."""
    instructions = sa.Table(
        "provider_instructions",
        metadata,
        sa.Column("instruction_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        subject_key_column(nullable=False, index=True),
        sa.Column("subject_ref", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("url", sa.String(1000)),
        sa.Column("callback_url", sa.String(1000)),
        sa.Column("payload", sa.JSON),  # Sealed.to_json() of identifiers and corrections; None once delivered
        sa.Column("reason", sa.Text),  # not_notified explanation, failure reason, or what to do by hand
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", UtcDateTime(), index=True),
        sa.Column("delivered_at", UtcDateTime()),
        sa.Column("confirmed_at", UtcDateTime()),
        sa.Column("confirmation_id", sa.String(200)),
        sa.Column("polls", sa.Integer, nullable=False, default=0),
        sa.Column("next_poll_at", UtcDateTime(), index=True),
        sa.Column("overdue_reported_at", UtcDateTime()),
        sa.Column("confirmation_note", sa.Text),  # an operator's note when confirming by hand (scrubbed of PI)
        sa.Column("confirmed_by", sa.String(36)),  # the console account that confirmed it by hand
    )
    attempts = sa.Table(
        "provider_instruction_attempts",
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("instruction_id", sa.String(36), nullable=False, index=True),
        sa.Column("channel", sa.String(10), nullable=False),  # send, poll, callback, operator
        sa.Column("step", sa.String(12), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    return InstructionTables(instructions, attempts, nonce_table(metadata, "provider_callback_nonces"))


TABLES = instruction_tables(metadata)


class PayloadSealer(Protocol):
    """services.common.crypto.Sealer: identifiers sealed under the subject's crypto-shreddable data key."""

    def seal(self, document: Mapping[str, Any], subject_key: str, request_id: str) -> Sealed: ...

    def open(self, sealed: Sealed, subject_key: str, request_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Planned:
    """What enqueueing decided for one recipient."""

    instruction_id: str
    recipient: str
    state: State
    reason: str | None = None  # the §7022 explanation for not_notified; what to do for manual


@dataclass(frozen=True)
class InstructionRow:
    instruction_id: str
    request_id: str
    subject_key: str
    subject_ref: str
    recipient: str
    kind: Kind
    state: State
    url: str | None
    callback_url: str | None
    payload: Sealed | None
    reason: str | None
    deadline: datetime
    attempts: int
    polls: int
    delivered_at: datetime | None
    confirmed_at: datetime | None
    confirmation_id: str | None
    confirmation_note: str | None = None
    confirmed_by: str | None = None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> InstructionRow:
        values = row._mapping
        fields = {name: values[name] for name in cls.__dataclass_fields__ if name not in ("state", "payload")}
        sealed = Sealed.from_json(values["payload"]) if values["payload"] else None
        return cls(**fields, state=State(values["state"]), payload=sealed)


# Called in the transaction that confirmed an instruction (by callback, poll or operator), with its row as now.
ConfirmationListener = Callable[[sa.Connection, InstructionRow], None]


class InstructionQueue:
    def __init__(self, sealer: PayloadSealer, tables: InstructionTables = TABLES,
                 on_confirmed: ConfirmationListener | None = None) -> None:  # fmt: skip
        self.sealer = sealer
        self.tables = tables
        self.table = tables.instructions
        self.on_confirmed = on_confirmed

    def enqueue(self, conn: sa.Connection, notice: Notice, recipients: Sequence[str], directory: ProviderDirectory,
                now: datetime | None = None) -> list[Planned]:  # fmt: skip
        """One instruction per recipient, in the caller's transaction; enqueueing again changes nothing."""
        at = now or datetime.now(UTC)
        return [self._enqueue_one(conn, notice, recipient, directory, at) for recipient in dict.fromkeys(recipients)]

    def _enqueue_one(self, conn: sa.Connection, notice: Notice, recipient: str, directory: ProviderDirectory,
                     now: datetime) -> Planned:  # fmt: skip
        instruction_id = instruction_id_for(notice.request_id, notice.kind, recipient)
        existing = self.find(conn, instruction_id)
        if existing is not None:
            return Planned(instruction_id, recipient, existing.state, existing.reason)
        endpoint = directory.endpoint(recipient)
        url = endpoint.url_for(notice.kind)
        state, reason, payload = State.PENDING, None, None
        if endpoint.disproportionate_effort:
            state, reason = State.NOT_NOTIFIED, endpoint.disproportionate_effort
        elif url is None:
            state, reason = State.MANUAL, (f"the data map gives no {notice.kind} endpoint for {recipient}: "
                                           "instruct it by other means, then record its confirmation")  # fmt: skip
        else:
            payload = self.sealer.seal(notice.document(), notice.subject_key, notice.request_id).to_json()
        conn.execute(sa.insert(self.table).values(
            instruction_id=instruction_id, request_id=notice.request_id, subject_key=notice.subject_key,
            subject_ref=subject_ref_for(notice.subject_key, recipient), recipient=recipient, kind=notice.kind,
            state=state, url=url if state is State.PENDING else None, callback_url=notice.callback_url,
            payload=payload, reason=reason, deadline=notice.deadline, created_at=now, attempts=0, polls=0,
            next_attempt_at=now if state is State.PENDING else None,
        ))  # fmt: skip
        return Planned(instruction_id, recipient, state, reason)

    def find(self, conn: sa.Connection, instruction_id: str, lock: bool = False) -> InstructionRow | None:
        query = sa.select(self.table).where(self.table.c.instruction_id == instruction_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        return InstructionRow.of(row) if row is not None else None

    def for_request(self, conn: sa.Connection, request_id: str) -> list[InstructionRow]:
        """Every instruction of a request, for the consumer's response (§7022(b)(3) explanations included)."""
        query = sa.select(self.table).where(self.table.c.request_id == request_id).order_by(self.table.c.recipient)
        return [InstructionRow.of(row) for row in conn.execute(query)]

    def open_payload(self, row: InstructionRow) -> dict[str, Any]:
        """Identifiers and corrections; KeyShredded when the subject's key was destroyed first."""
        if row.payload is None:
            raise LookupError(f"instruction {row.instruction_id} holds no identifiers any more")
        return self.sealer.open(row.payload, row.subject_key, row.request_id)

    def claim_due(self, conn: sa.Connection, now: datetime, limit: int, lease_seconds: float) -> list[InstructionRow]:
        """Pending instructions due now, leased so another sender (or this one after a crash) waits its turn."""
        return self._claim(conn, State.PENDING, self.table.c.next_attempt_at, now, limit, lease_seconds)

    def claim_polls(self, conn: sa.Connection, now: datetime, limit: int, lease_seconds: float
                    ) -> list[InstructionRow]:  # fmt: skip
        """Delivered, unconfirmed instructions whose status is due to be asked, leased the same way."""
        return self._claim(conn, State.DELIVERED, self.table.c.next_poll_at, now, limit, lease_seconds)

    def _claim(self, conn: sa.Connection, state: State, due_at: sa.Column[Any], now: datetime, limit: int,
               lease_seconds: float) -> list[InstructionRow]:  # fmt: skip
        # SKIP LOCKED lets several senders share the queue on PostgreSQL; SQLite ignores it (one writer).
        query = (sa.select(self.table).where(self.table.c.state == state, due_at <= now).order_by(due_at)
                 .limit(limit).with_for_update(skip_locked=True))  # fmt: skip
        rows = [InstructionRow.of(row) for row in conn.execute(query)]
        if rows:
            ids = [row.instruction_id for row in rows]
            lease_end = now + timedelta(seconds=lease_seconds)
            conn.execute(sa.update(self.table).where(self.table.c.instruction_id.in_(ids))
                         .values({due_at.name: lease_end}))  # fmt: skip
        return rows

    def apply(self, conn: sa.Connection, instruction_id: str, answer: Answer, now: datetime, channel: str,
              extra: Mapping[str, Any] | None = None) -> State | None:  # fmt: skip
        """Record what happened and move the instruction on; None when the step no longer applies."""
        self.record_attempt(conn, instruction_id, answer, now, channel)
        row = self.find(conn, instruction_id, lock=True)
        target = next_state(row.state, answer.step) if row is not None else None
        if row is None or target is None:
            return None
        values = {**_step_values(row, answer, now), **(extra or {}), "state": target}
        conn.execute(sa.update(self.table).where(self.table.c.instruction_id == instruction_id).values(values))
        if target is State.CONFIRMED and self.on_confirmed is not None:
            confirmed = self.find(conn, instruction_id)
            assert confirmed is not None  # updated just above, in this transaction
            self.on_confirmed(conn, confirmed)
        return target

    def record_attempt(self, conn: sa.Connection, instruction_id: str, answer: Answer, now: datetime,
                       channel: str) -> None:  # fmt: skip
        conn.execute(sa.insert(self.tables.attempts).values(
            instruction_id=instruction_id, channel=channel, step=answer.step, status_code=answer.status_code,
            detail=answer.detail[:300], at=now,
        ))  # fmt: skip

    def requeue(self, conn: sa.Connection, instruction_id: str, now: datetime | None = None) -> bool:
        """A failed instruction, once its cause is fixed, is sent again with the same idempotency key."""
        answer = Answer(Step.REQUEUED, detail="requeued by an operator")
        return self.apply(conn, instruction_id, answer, now or datetime.now(UTC), "operator") is State.PENDING

    def confirm_manually(self, conn: sa.Connection, instruction_id: str, confirmation_id: str | None,
                         now: datetime | None = None, note: str | None = None,
                         confirmed_by: str | None = None) -> bool:  # fmt: skip
        """Record the confirmation of an instruction given by other means (state manual, or failed)."""
        answer = Answer(Step.ATTESTED, confirmation_id, "confirmed by an operator")
        extra = {"confirmation_note": note, "confirmed_by": confirmed_by}
        return self.apply(conn, instruction_id, answer, now or datetime.now(UTC), "operator", extra) is State.CONFIRMED

    def confirm_by_operator(self, conn: sa.Connection, instruction_id: str, confirmation_id: str | None,
                            note: str, confirmed_by: str | None, now: datetime) -> InstructionRow:  # fmt: skip
        """`confirm_manually`, refused (OperatorRefused) unless the state allows it; the row as confirmed."""
        row = self.find(conn, instruction_id, lock=True)
        if row is None:
            raise LookupError(instruction_id)
        check_confirmable(row.state)
        self.confirm_manually(conn, instruction_id, confirmation_id, now, note, confirmed_by)
        confirmed = self.find(conn, instruction_id)
        assert confirmed is not None
        return confirmed

    def resend(self, conn: sa.Connection, instruction_id: str, detail: str, now: datetime) -> InstructionRow:
        """An operator's re-send: a failed instruction requeued, a pending one sent now, a delivered one's status
        asked now, each with the same idempotency key; OperatorRefused when its state allows none of these."""
        row = self.find(conn, instruction_id, lock=True)
        if row is None:
            raise LookupError(instruction_id)
        step = resend_step(row.state, row.payload is not None)
        due_now = {State.PENDING: {"next_attempt_at": now}, State.DELIVERED: {"next_poll_at": now}}
        self.apply(conn, instruction_id, Answer(step, detail=detail), now, "operator", due_now.get(row.state))
        resent = self.find(conn, instruction_id)
        assert resent is not None
        return resent


def _step_values(row: InstructionRow, answer: Answer, now: datetime) -> dict[str, Any]:
    if answer.step is Step.DELIVERED:
        return {"delivered_at": now, "confirmation_id": answer.confirmation_id, "payload": None}
    if answer.step in (Step.CONFIRMED, Step.ATTESTED):
        return {"delivered_at": row.delivered_at or now, "confirmed_at": now, "payload": None,
                "confirmation_id": answer.confirmation_id or row.confirmation_id}  # fmt: skip
    if answer.step is Step.FAILED:
        return {"reason": answer.detail}
    if answer.step is Step.REQUEUED:
        return {"reason": None, "next_attempt_at": now}
    return {}
