"""Discovery's HTTP API: operations, and the internal report fetch intake's download link is served from (token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Response, status

from services.common.auth import ReportsReader
from services.common.http import service_app
from services.common.http_guard import RequestId, problems
from services.discovery.bootstrap import bootstrap
from services.discovery.report import FORMATS
from services.discovery.reporting import ReportNotFound
from services.discovery.settings import DiscoverySettings

ReportFormat = Annotated[str, Path(pattern=f"^({'|'.join(FORMATS)})$", description=" | ".join(FORMATS))]


def create_app(settings: DiscoverySettings | None = None) -> FastAPI:
    settings = settings or DiscoverySettings()
    discovery = bootstrap(settings)
    app = service_app(discovery, settings.credentials(), "CCPA discovery",
                      "Walks the data map for know, delete and correct requests; builds the access report.",
                      "discovery store")  # fmt: skip

    @app.get("/internal/v1/reports/{request_id}/{fmt}", tags=["reports"], response_class=Response,
             responses={**problems(404), 200: {"description": "The report in that format", "content": {
                 "application/json": {}, "text/csv": {}, "application/zip": {}, "text/html": {}}}})  # fmt: skip
    def report(request_id: RequestId, fmt: ReportFormat, _caller: ReportsReader) -> Response:
        """One rendering of a request's access report, decrypted, for intake to hand to the consumer."""
        try:
            stored = discovery.reports.load(request_id, fmt)
        except ReportNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        headers = {"X-Report-Sha256": stored.sha256, "X-Report-Filename": stored.filename, "Cache-Control": "no-store"}
        return Response(stored.content, media_type=stored.media_type, headers=headers)

    return app
