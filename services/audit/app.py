"""Audit HTTP API: request timelines with their §7101 record, the §7101 records, the §7102 figures and a subject
key's consent history (API token required)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from services.audit import consent, dashboard, exports, queries, queue, records
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.common.auth import TimelineReader
from services.common.http import service_app
from services.common.http_guard import UUID_PATTERN, RequestId, SubjectKey, problems


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    audit = bootstrap(settings)
    app = service_app(audit, settings.credentials(), "CCPA audit",
                      "The compliance timeline materialised from the pipeline's topics.", "audit store")  # fmt: skip

    @app.get("/v1/requests/{request_id}/timeline", tags=["timeline"], responses=problems(404))
    def get_timeline(request_id: RequestId, _caller: TimelineReader) -> dict[str, Any]:
        """Every event of one request in order, with the §7101 record fields."""
        found = queries.timeline(audit.runtime.engine, request_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no timeline for this request")
        return found

    @app.get("/v1/records", tags=["records"])
    def get_records(
        request: Request,
        _caller: TimelineReader,
        received_from: Annotated[date | None, Query(alias="from", description=RECEIVED_DATE)] = None,
        received_to: Annotated[date | None, Query(alias="to", description=RECEIVED_DATE)] = None,
        request_type: Annotated[str | None, Query(alias="type", description="A request type, or know")] = None,
        status_filter: Annotated[str | None, Query(alias="status", description=STATUS)] = None,
        page_size: Annotated[int, Query(description="Records per page")] = records.DEFAULT_PAGE_SIZE,
        cursor: Annotated[str | None, Query(description="From a `next` link; omit for the first page")] = None,
    ) -> dict[str, Any]:
        """The §7101 records of the requests received from..to (Los Angeles dates), oldest first, a page at a time."""
        with invalid_query():
            query = records.RecordQuery(received_from, received_to, request_type, status_filter)
            size, after = records.page_size_of(page_size), records.Cursor.decode(cursor) if cursor else None
        with audit.runtime.engine.connect() as conn:
            found = records.page(conn, query, size, after)
        following = found.next_cursor and str(request.url.include_query_params(cursor=found.next_cursor.encode()))
        return {"items": found.items, "next": following, "received_dates": "America/Los_Angeles calendar dates"}

    def watch_now() -> datetime:
        """The deadline watch's clock (tests may run it ahead), so the queue says overdue when the watch does."""
        return datetime.now(UTC) + timedelta(days=settings.watch_clock_skew_days)

    @app.get("/v1/queue", tags=["console"])
    def get_queue(
        request: Request,
        _caller: TimelineReader,
        request_type: Annotated[str | None, Query(alias="type", description="A request type, or know")] = None,
        status_filter: Annotated[str, Query(alias="status", description=QUEUE_STATUS)] = "open",
        channel: Annotated[str | None, Query(description="A channel (manner of the request)")] = None,
        due_within_days: Annotated[int | None, Query(description=DUE_WITHIN)] = None,
        page_size: Annotated[int, Query(description="Requests per page, 1 to 200")] = queue.DEFAULT_PAGE_SIZE,
        cursor: Annotated[str | None, Query(description="From a `next` link; omit for the first page")] = None,
    ) -> dict[str, Any]:
        """The queue: requests sorted by the due date in force, a page at a time, with counts."""
        with invalid_query():
            query = queue.QueueQuery(request_type, status_filter, channel, due_within_days)
            size, after = queue.page_size_of(page_size), records.Cursor.decode(cursor) if cursor else None
        now = watch_now()
        with audit.runtime.engine.connect() as conn:
            items, following = queue.page(conn, query, now, size, after)
            counts = queue.counts(conn, query, now)
        link = following and str(request.url.include_query_params(cursor=following.encode()))
        return {"items": items, "counts": counts, "next": link, "now": now.isoformat()}

    @app.get("/v1/dashboard", tags=["console"])
    def get_dashboard(
        _caller: TimelineReader,
        weeks: Annotated[int, Query(ge=1, le=dashboard.MAX_WEEKS, description=WEEKS)] = dashboard.DEFAULT_WEEKS,
    ) -> dict[str, Any]:
        """Overdue and due this week by type, weekly throughput, the recipients' and downstream backlogs."""
        with audit.runtime.engine.connect() as conn:
            return dashboard.dashboard(conn, watch_now(), weeks)

    @app.get("/v1/metrics/7102", tags=["records"])
    def get_metrics_7102(
        _caller: TimelineReader, year: Annotated[int, Query(ge=2020, le=2100, description=METRICS_YEAR)]
    ) -> dict[str, Any]:
        """The §7102 figures of one calendar year, saying how signal-only opt-outs were counted."""
        with audit.runtime.engine.connect() as conn:
            return exports.metrics_of_year(conn, year, settings.metrics_signal_opt_outs)

    @app.get("/v1/subjects/{subject_key}/consent", tags=["consent"], responses=problems(404))
    def get_consent_history(subject_key: SubjectKey, _caller: TimelineReader,
                            limit: int = Query(consent.DEFAULT_PAGE, ge=1, le=consent.MAX_PAGE),
                            cursor: str | None = Query(None, pattern=UUID_PATTERN)) -> dict[str, Any]:  # fmt: skip
        """One subject key's consent changes in order (with or without a request), a page at a time."""
        try:
            page = consent.history(audit.runtime.engine, subject_key, limit, cursor)
        except consent.UnknownCursor as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        if page is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no consent change recorded for this subject key")
        return page.body(subject_key)

    return app


RECEIVED_DATE = "A date of receipt, inclusive, as a Los Angeles (America/Los_Angeles) calendar date: YYYY-MM-DD"
STATUS = f"One of {', '.join(records.STATUS_FILTERS)}"
QUEUE_STATUS = f"One of {', '.join(queue.STATUSES)} (default open)"
DUE_WITHIN = f"Open requests not yet overdue, due within this many days (0 to {queue.MAX_DUE_WITHIN_DAYS})"
WEEKS = f"Weeks of throughput, this one included (1 to {dashboard.MAX_WEEKS})"
METRICS_YEAR = "A calendar year in Los Angeles time, by the date each request was received"


@contextmanager
def invalid_query() -> Iterator[None]:
    """A records or queue query parameter out of its rule: the 422 every route gives, naming the parameter."""
    try:
        yield
    except records.BadRecordQuery as bad:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", bad.parameter), "msg": bad.message}]
        ) from None
