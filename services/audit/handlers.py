"""Materialises the compliance timeline: every event becomes a chained entry; some also fill the §7101 record.

Each handler only sets the columns its event owns, so replaying topics in any interleaving gives one result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.audit import clocks, links, orm, recipients, responses, tallies
from services.common.consumer import Delivery, Handler, dispatch
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event
from services.common.metrics import TIMELINE_ENTRIES
from services.common.payloads.requests import (
    AnswerReviewedPayload,
    RequestCompletedPayload,
    RequestDeniedPayload,
    RequestExtendedPayload,
    RequestSubmittedPayload,
)

RecordUpdate = Callable[[Event[Any], sa.Connection], None]

SEALED_FIELDS = frozenset({"identifiers", "corrections"})


def public_details(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload minus encrypted PI, as JSON-ready values."""
    return {key: _jsonable(value) for key, value in payload.items() if key not in SEALED_FIELDS}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def timeline_entry(event: Event, delivery: Delivery) -> dict[str, Any]:
    """The fields of an event's timeline entry (what its chain links cover)."""
    return {
        "event_id": event.event_id,
        "request_id": event.request_id,
        "subject_key": event.subject_key,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "producer": event.producer,
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
        "details": public_details(event.payload.to_record()),
    }


def record_entry(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
    links.store(conn, timeline_entry(event, delivery))
    TIMELINE_ENTRIES.labels(event.event_type).inc()


def on_submitted(event: Event[RequestSubmittedPayload], conn: sa.Connection) -> None:
    payload = event.payload
    _update_record(
        conn,
        event,
        {
            "request_type": payload.request_type,
            "requested_type": payload.requested_type,
            "channel": payload.channel,
            "received_at": payload.received_at,
            "respond_by": payload.respond_by,
            "verification_level": payload.verification_achieved,
            "authorized_agent": payload.authorized_agent,
            "agent_name": payload.agent_name,
            "agent_permission_reference": payload.agent_permission_reference,
            "declaration_signed": payload.declaration_signed,
            "declaration_signed_at": payload.declaration_signed_at,
            "declaration_text_version": payload.declaration_text_version,
            "review_required": payload.review_before_send,
            "subject_type": payload.subject_type,
        },
    )


def on_extended(event: Event[RequestExtendedPayload], conn: sa.Connection) -> None:
    _update_record(conn, event, {"extended_respond_by": event.payload.respond_by, "extended_at": event.occurred_at})


def on_denied(event: Event[RequestDeniedPayload], conn: sa.Connection) -> None:
    nature = "denied_in_part" if event.payload.in_part else "denied"
    payload = event.payload
    _update_record(conn, event, {"denied_at": event.occurred_at, "denied_nature": nature,
                                 "denied_code": payload.denial_code, "denied_basis": payload.basis})  # fmt: skip


def on_completed(event: Event[RequestCompletedPayload], conn: sa.Connection) -> None:
    _update_record(conn, event, {"completed_at": event.occurred_at, "completed_nature": event.payload.outcome})


def on_reviewed(event: Event[AnswerReviewedPayload], conn: sa.Connection) -> None:
    payload = event.payload
    _update_record(conn, event, {"review_state": payload.verdict, "reviewed_at": event.occurred_at,
                                 "review_reason": payload.reason})  # fmt: skip


def recorded(update: RecordUpdate) -> Handler:
    """A timeline entry, and for an event about a request the §7101 record columns this event type owns."""

    def handler(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        record_entry(event, conn, delivery)
        if event.request_id:
            update(event, conn)

    return handler


def also(handler: Handler, update: RecordUpdate) -> Handler:
    """The handler, then a second update of audit's own tables in the same transaction."""

    def both(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        handler(event, conn, delivery)
        update(event, conn)

    return both


# Every event type goes on the timeline; the answers and the request itself also fill the §7101 record.
ROUTES: dict[EventType, Handler] = (
    {event_type: record_entry for event_type in EventType}
    | {
        EventType.REQUEST_SUBMITTED: recorded(on_submitted),
        EventType.REQUEST_EXTENDED: recorded(on_extended),
        EventType.REQUEST_DENIED: recorded(on_denied),
        EventType.REQUEST_COMPLETED: recorded(on_completed),
        EventType.ANSWER_REVIEWED: recorded(on_reviewed),
    }
    | {event_type: also(record_entry, update) for event_type, update in recipients.UPDATES.items()}
)


# The deadline watch's clocks (services/audit/clocks.py) follow the events that open, move and answer them.
ROUTES |= {event_type: also(ROUTES[event_type], update) for event_type, update in clocks.UPDATES.items()}


def handle(event: Event, conn: sa.Connection, delivery: Delivery) -> None:
    dispatch(ROUTES, event, conn, delivery)


def _update_record(conn: sa.Connection, event: Event, values: dict[str, Any]) -> None:
    """Set the columns this event owns, then derive the response from everything the record holds."""
    records = orm.request_records
    before = conn.execute(sa.select(records).where(records.c.request_id == event.request_id)).first()
    row = {"request_id": event.request_id, "subject_key": event.subject_key, **values}
    conn.execute(_upsert(conn, orm.request_records, ["request_id"], row, update=True))
    responses.refresh(conn, str(event.request_id), tallies.counted_of(before))


def _upsert(conn: sa.Connection, table: sa.Table, keys: list[str], row: dict[str, Any], update: bool) -> Any:
    insert = insert_for(conn, table).values(**row)
    if not update:
        return insert.on_conflict_do_nothing(index_elements=keys)
    changed = {column: insert.excluded[column] for column in row if column not in keys}
    return insert.on_conflict_do_update(index_elements=keys, set_=changed)
