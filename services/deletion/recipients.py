"""The recipients of one request as an operator sees and acts on them: each instruction's state and attempts, a
recipient's confirmation recorded by hand (with the operator's note), an instruction sent or asked again."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from uuid import UUID

import sqlalchemy as sa

from services.common.events import utcnow
from services.common.logs import scrub
from services.deletion import orm
from services.deletion.api_models import Attempts, AttemptSeen, RecipientInstruction, RequestRecipients
from services.deletion.providers.instructions import InstructionQueue, InstructionRow
from services.deletion.providers.model import OperatorRefused, confirmable, resend_step

MAX_DETAIL = 300  # the attempts table's detail column


class RequestNotKnown(LookupError):
    """Deletion has no job for this request id (not a deletion or correction, or not arrived yet)."""


class InstructionNotKnown(LookupError):
    """No instruction of this request has that id."""


class Recipients:
    """Reads and acts on a request's instructions, each action in one transaction with its events."""

    def __init__(self, engine: sa.Engine, queue: InstructionQueue, roles: Mapping[str, str],
                 wake: Callable[[], None], wake_sender: Callable[[], None]) -> None:  # fmt: skip
        self.engine = engine
        self.queue = queue
        self.roles = roles
        self.wake = wake  # the worker and the outbox relay: the answer may be due, the events are
        self.wake_sender = wake_sender

    def of_request(self, request_id: str) -> RequestRecipients:
        with self.engine.connect() as conn:
            stage = self._stage(conn, request_id)
            rows = self.queue.for_request(conn, request_id)
            attempts = attempts_of(conn, self.queue, [row.instruction_id for row in rows])
        views = [self._view(row, attempts) for row in rows]
        return RequestRecipients(request_id=request_id, stage=stage, recipients=views)

    def confirm(self, request_id: str, instruction_id: str, note: str, confirmation_id: str | None,
                confirmed_by: UUID | None) -> RecipientInstruction:  # fmt: skip
        """Record the recipient's confirmation given by other means; its ProviderConfirmed goes in the outbox with
        it (the queue's confirmation listener). OperatorRefused unless the instruction is manual or failed."""
        with self.engine.begin() as conn:
            self._instruction(conn, request_id, instruction_id)
            row = self.queue.confirm_by_operator(conn, instruction_id, confirmation_id, scrub(note),
                                                 str(confirmed_by) if confirmed_by else None, utcnow())  # fmt: skip
            view = self._view(row, attempts_of(conn, self.queue, [instruction_id]))
        self.wake()
        return view

    def resend(self, request_id: str, instruction_id: str, reason: str) -> RecipientInstruction:
        """Send a failed instruction again, or a pending or delivered one's attempt or poll now; same key."""
        with self.engine.begin() as conn:
            self._instruction(conn, request_id, instruction_id)
            detail = f"re-sent by an operator: {scrub(reason)}"[:MAX_DETAIL]
            row = self.queue.resend(conn, instruction_id, detail, utcnow())
            view = self._view(row, attempts_of(conn, self.queue, [instruction_id]))
        self.wake_sender()
        return view

    @staticmethod
    def _stage(conn: sa.Connection, request_id: str) -> str:
        stage = conn.execute(sa.select(orm.jobs.c.stage).where(orm.jobs.c.request_id == request_id)).scalar()
        if stage is None:
            raise RequestNotKnown(request_id)
        return str(stage)

    def _instruction(self, conn: sa.Connection, request_id: str, instruction_id: str) -> InstructionRow:
        self._stage(conn, request_id)
        row = self.queue.find(conn, instruction_id)
        if row is None or row.request_id != request_id:
            raise InstructionNotKnown(instruction_id)
        return row

    def _view(self, row: InstructionRow, attempts: Mapping[str, Attempts]) -> RecipientInstruction:
        return RecipientInstruction(
            instruction_id=row.instruction_id, recipient=row.recipient, role=self.roles.get(row.recipient, ""),
            kind=row.kind, state=row.state.value, deadline=row.deadline, delivered_at=row.delivered_at,
            confirmed_at=row.confirmed_at, confirmation_id=row.confirmation_id, reason=row.reason,
            confirmation_note=row.confirmation_note, confirmed_by=row.confirmed_by,
            attempts=attempts.get(row.instruction_id, Attempts(count=0, last=None)),
            may_confirm=confirmable(row.state), may_resend=may_resend(row),
        )  # fmt: skip


def may_resend(row: InstructionRow) -> bool:
    try:
        resend_step(row.state, row.payload is not None)
    except OperatorRefused:
        return False
    return True


def attempts_of(conn: sa.Connection, queue: InstructionQueue, instruction_ids: Sequence[str]) -> dict[str, Attempts]:
    """How many attempts each instruction has had, and its last one."""
    if not instruction_ids:
        return {}
    table = queue.tables.attempts
    ours = table.c.instruction_id.in_(instruction_ids)
    counted = sa.select(table.c.instruction_id, sa.func.count()).where(ours).group_by(table.c.instruction_id)
    counts: dict[str, int] = {str(key): int(count) for key, count in conn.execute(counted)}
    latest = sa.select(sa.func.max(table.c.id)).where(ours).group_by(table.c.instruction_id)
    last = {row.instruction_id: AttemptSeen(channel=row.channel, step=row.step, status_code=row.status_code,
                                            detail=row.detail, at=row.at)
            for row in conn.execute(sa.select(table).where(table.c.id.in_(latest)))}  # fmt: skip
    return {key: Attempts(count=count, last=last.get(key)) for key, count in counts.items()}
