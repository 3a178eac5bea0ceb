"""Audit HTTP API: request timelines with their §7101 record, a subject key's consent history (API token required)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Query, status

from services.audit import consent, queries
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
