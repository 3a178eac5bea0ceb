"""A completed deletion destroys the subject's access reports: the sealed bytes are deleted, a PI-free record of
what was destroyed is kept, and each request's timeline gets a ReportDestroyed entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event, strictly_after
from services.common.payloads.deletion import DeletionCompletedPayload
from services.common.payloads.discovery import ReportDestroyedPayload
from services.discovery import orm

PRODUCER = "discovery"
REASON = "destroyed with the subject's data when their delete request was completed"


@dataclass(frozen=True)
class DestroyedReport:
    request_id: str
    formats: tuple[str, ...]
    bytes: int


def destroys_reports(event: Event) -> bool:
    """Only a completed delete removes reports; a completed correction leaves them (the subject still has data)."""
    return isinstance(event.payload, DeletionCompletedPayload) and event.payload.operation == "delete"


def group_by_request(rows: Sequence[Any]) -> list[DestroyedReport]:
    """One entry per request, its formats sorted, bytes summed over renderings."""
    formats: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for row in rows:
        formats.setdefault(row.request_id, []).append(row.format)
        sizes[row.request_id] = sizes.get(row.request_id, 0) + row.size_bytes
    return [DestroyedReport(request_id, tuple(sorted(formats[request_id])), sizes[request_id])
            for request_id in sorted(formats)]  # fmt: skip


class ReportDestruction:
    """Destroys, in the consumer's transaction, every report of a subject built before its deletion completed."""

    def destroy(self, conn: sa.Connection, deletion: Event) -> list[Event]:
        reports = orm.reports
        built_before = sa.and_(reports.c.subject_key == deletion.subject_key,
                               reports.c.created_at <= deletion.occurred_at)  # fmt: skip
        rows = conn.execute(sa.select(reports).where(built_before)).all()
        if rows:
            records = [self._record(row, deletion) for row in rows]
            conn.execute(insert_for(conn, orm.destroyed_reports).on_conflict_do_nothing(), records)
            conn.execute(sa.delete(reports).where(built_before))
        self._forget_identifiers(conn, deletion)
        return [self._event(destroyed, deletion) for destroyed in group_by_request(rows)]

    def _forget_identifiers(self, conn: sa.Connection, deletion: Event) -> None:
        # A finished run needs its sealed identifiers no more; a pending one (a request still open) keeps them.
        runs = orm.runs
        conn.execute(sa.update(runs).where(runs.c.subject_key == deletion.subject_key, runs.c.status != "pending")
                     .values(identifiers_sealed={}))  # fmt: skip

    @staticmethod
    def _record(row: Any, deletion: Event) -> Mapping[str, Any]:
        return {"request_id": row.request_id, "format": row.format, "subject_key": row.subject_key,
                "sha256": row.sha256, "size_bytes": row.size_bytes, "created_at": row.created_at,
                "destroyed_at": strictly_after(deletion.occurred_at),
                "deletion_request_id": deletion.request_id}  # fmt: skip

    @staticmethod
    def _event(destroyed: DestroyedReport, deletion: Event) -> Event:
        at: datetime = strictly_after(deletion.occurred_at)
        payload = ReportDestroyedPayload(formats=destroyed.formats, bytes=destroyed.bytes,
                                         deletion_request_id=deletion.request_id or "", reason=REASON)  # fmt: skip
        return Event(EventType.REPORT_DESTROYED, deletion.subject_key, PRODUCER, payload,
                     request_id=destroyed.request_id, occurred_at=at)  # fmt: skip
