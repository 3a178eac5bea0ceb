"""The deadline watch's clocks, filled from the events audit consumes: what opens a clock, moves it and answers it.

Each event sets only the columns it owns (an answer keeps the earliest answer), so topics replayed in any
interleaving give the same clocks; every change clears `settled` so the watch looks at the clock again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.audit import orm
from services.audit.deadlines import DEADLINE_NAMESPACE, Announcement, Clock
from services.common.clocks import deadlines_for
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads.consent import (
    OptOutAcknowledgedPayload,
    OptOutAppliedPayload,
    PropagationOverduePayload,
)
from services.common.payloads.deadlines import DeadlineApproachingPayload, DeadlineMissedPayload
from services.common.payloads.deletion import (
    ProviderConfirmedPayload,
    ProviderInstructedPayload,
    ProviderOverduePayload,
)
from services.common.payloads.requests import RequestExtendedPayload, RequestSubmittedPayload
from services.common.request_types import RequestType

ClockUpdate = Callable[[Event[Any], sa.Connection], None]
# The request's answer stops the request-level clocks; rows of clocks the request does not run stay without a due
# instant and the watch never looks at them.
ANSWER_CLOCKS = (Clock.RESPOND, Clock.OPT_OUT)


@dataclass(frozen=True)
class Owner:
    """The request (or subject) a clock belongs to, as an event names it."""

    request_id: str | None
    subject_key: str


def owner_of(request_id: str | None, subject_key: str) -> str:
    """Whom a clock belongs to: its request, or for an opt-out no request asked for, its subject."""
    return request_id or subject_key


def clock_id(owner: str, clock: str, item: str = "") -> str:
    return str(uuid.uuid5(DEADLINE_NAMESPACE, f"{owner}|{clock}|{item}"))


def downstream_item(downstream: str, state_version: int) -> str:
    return f"{downstream}@{state_version}"


def on_submitted(event: Event[RequestSubmittedPayload], conn: sa.Connection) -> None:
    payload = event.payload
    request_type = RequestType(payload.request_type)
    received = payload.received_at
    if not request_type.needs_response_clock:
        _merge(conn, event, Clock.OPT_OUT, started_at=received, due_at=payload.respond_by)
        return
    acknowledge_by = deadlines_for(request_type, received).acknowledge_by
    _merge(conn, event, Clock.ACKNOWLEDGE, started_at=received, due_at=acknowledge_by,
           satisfied_at=payload.acknowledged_at)  # fmt: skip
    _merge(conn, event, Clock.RESPOND, started_at=received, due_at=payload.respond_by)
    _merge(conn, event, Clock.EXTENSION_NOTICE, started_at=received, due_at=payload.respond_by)


def on_extended(event: Event[RequestExtendedPayload], conn: sa.Connection) -> None:
    _merge(conn, event, Clock.RESPOND, extended_due_at=event.payload.respond_by)
    _merge(conn, event, Clock.EXTENSION_NOTICE, satisfied_at=event.occurred_at)


def answer(conn: sa.Connection, request_id: str, subject_key: str, responded_at: datetime | None,
           extended_at: datetime | None) -> None:  # fmt: skip
    """The request's answer as the §7101 record now derives it (services/audit/responses.py): it stops the answer
    clocks (a held answer does not: it is no answer yet), and the extension notice's unless the extension did."""
    owner = Owner(request_id, subject_key)
    for clock in ANSWER_CLOCKS:
        _merge(conn, owner, clock, earliest=False, satisfied_at=responded_at)
    notice = min((when for when in (extended_at, responded_at) if when is not None), default=None)
    _merge(conn, owner, Clock.EXTENSION_NOTICE, earliest=False, satisfied_at=notice)
    if responded_at is not None:  # an answer acknowledges the request too, if nothing did before
        _merge(conn, owner, Clock.ACKNOWLEDGE, satisfied_at=responded_at)


def on_provider_instructed(event: Event[ProviderInstructedPayload], conn: sa.Connection) -> None:
    if event.payload.confirm_by is not None:
        _merge(conn, event, Clock.PROVIDER_CONFIRMATION, event.payload.instruction_id,
               started_at=event.occurred_at, due_at=event.payload.confirm_by)  # fmt: skip


def on_provider_confirmed(event: Event[ProviderConfirmedPayload], conn: sa.Connection) -> None:
    _merge(conn, event, Clock.PROVIDER_CONFIRMATION, event.payload.instruction_id, satisfied_at=event.occurred_at)


def on_provider_overdue(event: Event[ProviderOverduePayload], conn: sa.Connection) -> None:
    _merge(conn, event, Clock.PROVIDER_CONFIRMATION, event.payload.instruction_id, due_at=event.payload.confirm_by)


def on_opt_out_applied(event: Event[OptOutAppliedPayload], conn: sa.Connection) -> None:
    payload = event.payload
    for downstream in payload.downstream_expected:
        _merge(conn, event, Clock.DOWNSTREAM_ACK, downstream_item(downstream, payload.state_version),
               started_at=event.occurred_at, due_at=payload.acknowledge_by)  # fmt: skip


def on_opt_out_acknowledged(event: Event[OptOutAcknowledgedPayload], conn: sa.Connection) -> None:
    item = downstream_item(event.payload.downstream, event.payload.state_version)
    _merge(conn, event, Clock.DOWNSTREAM_ACK, item, satisfied_at=event.occurred_at)


def on_propagation_overdue(event: Event[PropagationOverduePayload], conn: sa.Connection) -> None:
    item = downstream_item(event.payload.downstream, event.payload.state_version)
    _merge(conn, event, Clock.DOWNSTREAM_ACK, item, due_at=event.payload.acknowledge_by)


def on_announced(event: Event[DeadlineApproachingPayload | DeadlineMissedPayload], conn: sa.Connection) -> None:
    """An announcement read back from the topic: a rebuilt (or second) audit knows it was made and never repeats it."""
    payload = event.payload
    owner = owner_of(event.request_id, event.subject_key)
    row = {"event_id": event.event_id, "clock_id": clock_id(owner, payload.clock, payload.item or ""),
           "kind": Announcement(str(event.event_type)).value, "due_at": payload.due_at}  # fmt: skip
    conn.execute(insert_for(conn, orm.deadline_announcements).values(**row).on_conflict_do_nothing())


UPDATES: dict[EventType, ClockUpdate] = {
    EventType.REQUEST_SUBMITTED: on_submitted,
    EventType.REQUEST_EXTENDED: on_extended,
    EventType.PROVIDER_INSTRUCTED: on_provider_instructed,
    EventType.PROVIDER_CONFIRMED: on_provider_confirmed,
    EventType.PROVIDER_OVERDUE: on_provider_overdue,
    EventType.OPT_OUT_APPLIED: on_opt_out_applied,
    EventType.OPT_OUT_ACKNOWLEDGED: on_opt_out_acknowledged,
    EventType.PROPAGATION_OVERDUE: on_propagation_overdue,
    EventType.DEADLINE_APPROACHING: on_announced,
    EventType.DEADLINE_MISSED: on_announced,
}


def _merge(conn: sa.Connection, event: Event | Owner, clock: Clock, item: str = "", earliest: bool = True,
           **values: datetime | None) -> None:  # fmt: skip
    """Upsert the columns this event owns; satisfied_at keeps the earliest answer whatever order events come in
    (unless `earliest` is off: the answer derived from the record replaces it)."""
    table = orm.deadline_clocks
    owner = owner_of(event.request_id, event.subject_key)
    row = {"clock_id": clock_id(owner, clock, item), "request_id": event.request_id, "subject_key": event.subject_key,
           "clock": clock.value, "item": item, "settled": False, **values}  # fmt: skip
    insert = insert_for(conn, table).values(**row)
    changed: dict[str, Any] = {column: insert.excluded[column] for column in values
                               if column != "satisfied_at" or not earliest}  # fmt: skip
    if "satisfied_at" in values and earliest:
        changed["satisfied_at"] = sa.case((table.c.satisfied_at.is_(None), insert.excluded.satisfied_at),
                                          (insert.excluded.satisfied_at < table.c.satisfied_at,
                                           insert.excluded.satisfied_at),
                                          else_=table.c.satisfied_at)  # fmt: skip
    conn.execute(insert.on_conflict_do_update(index_elements=["clock_id"], set_={**changed, "settled": False}))
