"""Instructions not confirmed by their deadline: each is returned once, for the caller to put on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from services.deletion.providers.instructions import TABLES, InstructionTables
from services.deletion.providers.model import State

AWAITING_CONFIRMATION = (State.PENDING, State.DELIVERED, State.FAILED, State.MANUAL)


@dataclass(frozen=True)
class OverdueInstruction:
    instruction_id: str
    request_id: str
    subject_key: str
    recipient: str
    kind: str
    state: State
    deadline: datetime
    reason: str | None


def overdue(conn: sa.Connection, now: datetime, tables: InstructionTables = TABLES,
            limit: int = 500) -> list[OverdueInstruction]:  # fmt: skip
    """Unconfirmed past their deadline and not reported before; marked reported in the caller's transaction, so
    emitting the timeline events in that same transaction (an outbox) reports each exactly once."""
    table = tables.instructions
    query = (
        sa.select(table)
        .where(table.c.state.in_(AWAITING_CONFIRMATION), table.c.deadline < now, table.c.overdue_reported_at.is_(None))
        .order_by(table.c.deadline)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = [_overdue(row) for row in conn.execute(query)]
    if found:
        ids = [item.instruction_id for item in found]
        conn.execute(sa.update(table).where(table.c.instruction_id.in_(ids)).values(overdue_reported_at=now))
    return found


def _overdue(row: sa.Row[tuple[object, ...]]) -> OverdueInstruction:
    values = row._mapping
    return OverdueInstruction(
        instruction_id=values["instruction_id"],
        request_id=values["request_id"],
        subject_key=values["subject_key"],
        recipient=values["recipient"],
        kind=values["kind"],
        state=State(values["state"]),
        deadline=values["deadline"],
        reason=values["reason"],
    )
