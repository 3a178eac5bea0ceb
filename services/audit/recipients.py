"""The recipients' backlog: each deletion or correction instruction to a recipient (ProviderInstructed), its
confirmation (ProviderConfirmed) and its overdue notice (ProviderOverdue), one row per instruction.

An instruction waits while it was delivered, is to be done by hand (manual) or failed to go out, and no confirmation
came; it is overdue once the deletion service said so and still unconfirmed. Each event sets its own columns and
`awaiting` is derived from all of them, so any interleaving of the topics gives the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event

WAITING_OUTCOMES = frozenset({"delivered", "manual", "failed"})  # not_notified: nothing is expected back
instructions = orm.recipient_instructions


def awaiting(outcome: str | None, instructed_at: datetime | None, confirmed_at: datetime | None) -> bool:
    """Still waiting for the recipient: instructed with an outcome that expects an answer, and not confirmed."""
    return instructed_at is not None and outcome in WAITING_OUTCOMES and confirmed_at is None


def facts_of(event_type: str, occurred_at: datetime, details: Mapping[str, Any]) -> dict[str, Any]:
    """The columns one event owns, from its payload as the timeline keeps it (so a restored entry gives them too)."""
    if event_type == EventType.PROVIDER_INSTRUCTED:
        return {"recipient": details.get("recipient"), "outcome": details.get("outcome"), "instructed_at": occurred_at}
    if event_type == EventType.PROVIDER_CONFIRMED:
        return {"recipient": details.get("recipient"), "confirmed_at": occurred_at}
    if event_type == EventType.PROVIDER_OVERDUE:
        return {"recipient": details.get("recipient"), "overdue_at": occurred_at}
    return {}


def apply(conn: sa.Connection, event_type: str, request_id: str | None, occurred_at: datetime,
          details: Mapping[str, Any]) -> None:  # fmt: skip
    """Upsert the instruction's columns this event owns (the earliest confirmation and overdue), then `awaiting`."""
    values = facts_of(event_type, occurred_at, details)
    instruction_id = details.get("instruction_id")
    if not values or not instruction_id:
        return
    insert = insert_for(conn, instructions).values(instruction_id=instruction_id, request_id=request_id, **values)
    changed: dict[str, Any] = {name: insert.excluded[name] for name in values if name not in _EARLIEST}
    for name in _EARLIEST.intersection(values):
        stored, new = instructions.c[name], insert.excluded[name]
        changed[name] = sa.case((stored.is_(None), new), (new < stored, new), else_=stored)
    changed["request_id"] = sa.func.coalesce(instructions.c.request_id, insert.excluded.request_id)
    conn.execute(insert.on_conflict_do_update(index_elements=["instruction_id"], set_=changed))
    row = conn.execute(sa.select(instructions).where(instructions.c.instruction_id == instruction_id)).one()
    conn.execute(sa.update(instructions).where(instructions.c.instruction_id == instruction_id)
                 .values(awaiting=awaiting(row.outcome, row.instructed_at, row.confirmed_at)))  # fmt: skip


_EARLIEST = frozenset({"confirmed_at", "overdue_at"})


def _update(event: Event[Any], conn: sa.Connection) -> None:
    apply(conn, str(event.event_type), event.request_id, event.occurred_at, event.payload.to_record())


UPDATES: dict[EventType, Callable[[Event[Any], sa.Connection], None]] = {
    EventType.PROVIDER_INSTRUCTED: _update,
    EventType.PROVIDER_CONFIRMED: _update,
    EventType.PROVIDER_OVERDUE: _update,
}


def backlog(conn: sa.Connection) -> dict[str, Any]:
    """How many instructions wait for their recipient, how many of them are overdue, and the count per recipient."""
    waiting = instructions.c.awaiting.is_(True)
    by_recipient = conn.execute(
        sa.select(instructions.c.recipient, sa.func.count(), sa.func.count(instructions.c.overdue_at))
        .where(waiting).group_by(instructions.c.recipient).order_by(instructions.c.recipient)
    ).all()  # fmt: skip
    return {
        "awaiting": sum(row[1] for row in by_recipient),
        "overdue": sum(row[2] for row in by_recipient),
        "by_recipient": {str(row[0]): int(row[1]) for row in by_recipient},
    }
