"""Read side of audit: a request's timeline, in order, with its §7101 record; the chain heads."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.audit import checkpoints, orm


def timeline(engine: sa.Engine, request_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(orm.timeline)
            .where(orm.timeline.c.request_id == request_id)
            .order_by(
                orm.timeline.c.occurred_at,
                orm.timeline.c.topic,
                orm.timeline.c.partition,
                orm.timeline.c.offset,
            )
        ).all()
        record = conn.execute(
            sa.select(orm.request_records).where(orm.request_records.c.request_id == request_id)
        ).first()
    if not entries and record is None:
        return None
    subject_key = record.subject_key if record is not None else entries[0].subject_key
    return {"request_id": request_id, "subject_key": subject_key, "record": _record(record),
            "entries": [_entry(row) for row in entries]}  # fmt: skip


def _entry(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "occurred_at": row.occurred_at.isoformat(),
        "producer": row.producer,
        "details": row.details,
        "source": {"topic": row.topic, "partition": row.partition, "offset": row.offset},
    }


def _record(row: sa.Row[Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    due = row.extended_respond_by or row.respond_by
    return {
        "date_received": _iso(row.received_at),
        "nature": row.request_type,
        "requested_nature": row.requested_type,
        "manner": row.channel,
        "due_at": _iso(due),
        "extended_at": _iso(row.extended_at),
        "date_of_response": _iso(row.responded_at),
        "nature_of_response": row.response_nature,
        "basis_for_denial": row.denial_basis,
        "denial_code": row.denial_code,
        "review_required": bool(row.review_required),
        "review_state": row.review_state,
        "reviewed_at": _iso(row.reviewed_at),
        "completed_at": _iso(row.completed_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """Everything materialised, in a canonical order; two audits built from the same topics compare equal."""
    with engine.connect() as conn:
        entries = conn.execute(sa.select(orm.timeline).order_by(orm.timeline.c.event_id)).all()
        records = conn.execute(sa.select(orm.request_records).order_by(orm.request_records.c.request_id)).all()
    return [tuple(row) for row in entries] + [tuple(row) for row in records]


def chain_heads(engine: sa.Engine) -> dict[str, Any]:
    """Every chain's last link and the root over the source heads; equal timelines give equal heads."""
    with engine.connect() as conn:
        sources = checkpoints.source_heads(conn)
        return {"sources": sources, "root": checkpoints.root(sources), "requests": checkpoints.request_heads(conn)}
