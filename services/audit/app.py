"""Audit HTTP API: request timelines with their §7101 record (API token required)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from services.audit import queries
from services.audit.bootstrap import bootstrap
from services.audit.settings import AuditSettings
from services.common.http import ApiToken, ops_router


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    audit = bootstrap(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        audit.start()
        yield
        audit.stop()

    app = FastAPI(
        title="CCPA audit",
        version="1",
        lifespan=lifespan,
        description="The compliance timeline materialised from the pipeline's topics.",
    )
    app.state.api_token = settings.api_token.get_secret_value()
    app.include_router(ops_router(audit.runtime))

    @app.exception_handler(OperationalError)
    async def store_down(_request: Request, _exc: OperationalError) -> JSONResponse:
        return JSONResponse({"detail": "audit store unavailable; try again"}, status_code=503)

    @app.get("/v1/requests/{request_id}/timeline", tags=["timeline"])
    def get_timeline(request_id: str, _token: ApiToken) -> dict[str, Any]:
        """Every event of one request in order, with the §7101 record fields."""
        found = queries.timeline(audit.runtime.engine, request_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no timeline for request {request_id}")
        return found

    return app
