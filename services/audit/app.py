"""Audit HTTP API: request timelines with their §7101 record (API token required)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, status

from services.audit import queries
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.common.auth import TimelineReader
from services.common.http import service_app
from services.common.http_guard import RequestId, problems


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

    return app
