"""Discovery's HTTP API: operations, and the internal report fetch intake's download link is served from (token)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Response, status

from services.common.auth import ReportsReader
from services.common.http import service_app
from services.discovery.bootstrap import bootstrap
from services.discovery.report import FORMATS
from services.discovery.reporting import ReportNotFound
from services.discovery.settings import DiscoverySettings


def create_app(settings: DiscoverySettings | None = None) -> FastAPI:
    settings = settings or DiscoverySettings()
    discovery = bootstrap(settings)
    app = service_app(discovery, settings.credentials(), "CCPA discovery",
                      "Walks the data map for know, delete and correct requests; builds the access report.",
                      "discovery store")  # fmt: skip

    @app.get("/internal/v1/reports/{request_id}/{fmt}", tags=["reports"])
    def report(request_id: str, fmt: str, _caller: ReportsReader) -> Response:
        """One rendering of a request's access report, decrypted, for intake to hand to the consumer."""
        if fmt not in FORMATS:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"format must be one of {', '.join(FORMATS)}")
        try:
            stored = discovery.reports.load(request_id, fmt)
        except ReportNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        headers = {"X-Report-Sha256": stored.sha256, "X-Report-Filename": stored.filename, "Cache-Control": "no-store"}
        return Response(stored.content, media_type=stored.media_type, headers=headers)

    return app
