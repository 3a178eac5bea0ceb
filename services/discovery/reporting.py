"""Builds the access report once every store answered, seals each rendering under the subject's data key, stores it,
and serves it back (decrypted) to intake's download link until it expires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from services.common.crypto import Sealed, Sealer
from services.common.datamap import DataMap
from services.common.datamap.subjects import for_subject_type
from services.common.events import utcnow
from services.common.payloads.discovery import ReportReadyPayload
from services.common.stores.base import FoundRecord
from services.discovery import orm
from services.discovery.inventory import StoreOutcome
from services.discovery.report import FORMATS, Letterhead, ReportRequest, build_report, render
from services.discovery.runs import Run

JSON_FORMAT = "json"


@dataclass(frozen=True)
class Rendering:
    format: str
    content: bytes
    media_type: str
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class RenderedReport:
    renderings: tuple[Rendering, ...]
    records: int
    period_start: date
    period_end: date


@dataclass(frozen=True)
class ReadyReport:
    request_type: str
    rendered: RenderedReport
    ready_at: datetime
    expires_at: datetime

    def payload(self) -> ReportReadyPayload:
        json_rendering = next(r for r in self.rendered.renderings if r.format == JSON_FORMAT)
        return ReportReadyPayload(
            request_type=self.request_type,
            formats=tuple(r.format for r in self.rendered.renderings),
            records=self.rendered.records,
            period_start=self.rendered.period_start,
            period_end=self.rendered.period_end,
            expires_at=self.expires_at,
            sha256=json_rendering.sha256,
        )

    def summary(self, stores: int) -> str:
        what = "specific pieces" if self.request_type == "know_specific" else "categories"
        return (f"Access report ({what}) ready: {self.rendered.records} record(s) found across {stores} store(s), "
                f"covering {self.rendered.period_start} to {self.rendered.period_end}; the download link is valid "
                f"until {self.expires_at.date().isoformat()}.")  # fmt: skip


@dataclass(frozen=True)
class StoredReport:
    content: bytes
    media_type: str
    filename: str
    sha256: str
    expires_at: datetime


class ReportNotFound(LookupError):
    """No report in that format for that request, or it expired."""


class ReportPublisher:
    def __init__(self, engine: sa.Engine, sealer: Sealer, datamap: DataMap, ttl: timedelta,
                 letterhead: Letterhead | None = None) -> None:  # fmt: skip
        self.engine = engine
        self.sealer = sealer
        self.datamap = datamap
        self.ttl = ttl
        self.letterhead = letterhead

    def render(self, run: Run, records: Sequence[FoundRecord], outcomes: Sequence[StoreOutcome]
               ) -> RenderedReport:  # fmt: skip
        request = ReportRequest(
            request_id=run.request_id,
            request_type=run.request_type,
            received_at=run.received_at,
            date_range_start=run.date_range_start,
            date_range_end=run.date_range_end,
            generated_at=utcnow(),
            subject_type=run.subject_type,
        )
        statuses = {o.store: (o.outcome, o.records) for o in outcomes}
        report = build_report(for_subject_type(self.datamap, run.subject_type), records, request, statuses)
        renderings = tuple(Rendering(fmt, *render(report, fmt, self.letterhead)) for fmt in FORMATS)
        return RenderedReport(renderings, report.record_count, report.period_start, report.period_end)

    def store(self, conn: sa.Connection, run: Run, rendered: RenderedReport, at: datetime,
              sealer: Sealer | None = None) -> ReadyReport:  # fmt: skip
        expires_at = at + self.ttl
        contents = [r.content for r in rendered.renderings]
        sealed = (sealer or self.sealer).seal_all(contents, run.subject_key, run.request_id)
        rows = [
            {"request_id": run.request_id, "format": r.format, "subject_key": run.subject_key,
             "sealed": s.to_json(), "media_type": r.media_type, "filename": r.filename, "sha256": r.sha256,
             "size_bytes": len(r.content), "created_at": at, "expires_at": expires_at}
            for r, s in zip(rendered.renderings, sealed, strict=True)
        ]  # fmt: skip
        conn.execute(sa.delete(orm.reports).where(orm.reports.c.request_id == run.request_id))
        conn.execute(sa.insert(orm.reports), rows)
        return ReadyReport(run.request_type, rendered, at, expires_at)

    def load(self, request_id: str, fmt: str) -> StoredReport:
        table = orm.reports
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.request_id == request_id, table.c.format == fmt)).first()
        if row is None or row.expires_at <= utcnow():
            raise ReportNotFound(f"no {fmt} report for request {request_id} (never built, or expired)")
        content = self.sealer.open_bytes(Sealed.from_json(row.sealed), row.subject_key, request_id)
        return StoredReport(content, row.media_type, row.filename, row.sha256, row.expires_at)

    def purge_expired(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(orm.reports).where(orm.reports.c.expires_at <= utcnow())).rowcount
