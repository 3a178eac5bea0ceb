"""Intake HTTP API: the only public door. Submissions are public and rate-limited; the rest needs the API token."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

from services.common.auth import ConsentReader, RequestsExtender, RequestsReader
from services.common.clocks import ExtensionNotAllowed
from services.common.events import utcnow
from services.common.http import service_app
from services.common.http_guard import RequestId, problems
from services.common.identity import InvalidIdentifier
from services.common.metrics import GPC_SIGNALS, REQUESTS_ACCEPTED, REQUESTS_REJECTED
from services.intake import flows_api, request_status, team_api
from services.intake.api_models import Accepted, ConsentLookup, ExtendRequest, RequestStatus, SubmitRequest
from services.intake.bootstrap import Intake, bootstrap
from services.intake.consent import OptoutUnavailable
from services.intake.handlers import IdempotencyConflict, RequestNotFound
from services.intake.reports import LinkExpired, LinkInvalid, ReportNotReady, ReportUnavailable
from services.intake.settings import IntakeSettings
from services.intake.signals import carries_gpc
from services.intake.web import install as privacy_center
from services.intake.web.center import PrivacyCenter


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    # Shared counts (redis://...) hold the limit across `--workers` processes; memory:// counts per process.
    limiter = Limiter(key_func=get_remote_address, storage_uri=settings.rate_limit_storage_url)
    intake: Intake = bootstrap(settings)

    app = service_app(
        intake,
        settings.credentials(),
        "CCPA intake",
        "Consumer privacy requests (CCPA/CPRA): submit, track, extend; GPC; consent look-up.",
        "request store",
        public_docs=True,
        inner=privacy_center.middleware(settings),
        larger_bodies=privacy_center.LARGER_BODIES | {"/privacy/agent": settings.privacy_upload_max_bytes},
        page_prefix=privacy_center.PREFIX,
    )
    privacy_center.install(app, PrivacyCenter(intake, settings))
    app.state.limiter = limiter
    _install_error_handlers(app)
    team_api.install(app, intake)
    flows_api.install(app, intake, settings, limiter)
    service = intake.service
    # As many submissions at once as the pool has connections: more threads only churn overflow connections
    # (opened and closed per request) and contend for the GIL; the rest wait here, cheaply.
    in_flight = threading.BoundedSemaphore(settings.database_pool_size)

    @app.post("/v1/requests", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted, tags=["requests"],
              responses=problems(409, 429))  # fmt: skip
    @limiter.limit(settings.submit_rate_limit)
    def submit(
        request: Request,
        response: Response,
        body: SubmitRequest,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Accepted:
        """Submit a consumer request; 202 means it is durable and will be published."""
        gpc = carries_gpc(request)
        with in_flight:
            accepted = service.submit(body, gpc, idempotency_key, utcnow())
        if accepted.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        else:
            intake.relay.wakeup.set()
            REQUESTS_ACCEPTED.labels(body.type.value, body.channel.value).inc()
            GPC_SIGNALS.inc(gpc)
        link = accepted.status_link
        status_url = service.status_links.url(link.token) if link else None
        return Accepted(request_id=accepted.request_id, status=accepted.status,
                        acknowledgement=accepted.acknowledgement, status_url=status_url)  # fmt: skip

    @app.get("/v1/requests/{request_id}", response_model=RequestStatus, tags=["requests"], responses=problems(404))
    def get_request(request_id: RequestId, _caller: RequestsReader) -> RequestStatus:
        """Status, due date, extension, the response and, when ready, the access report's download links."""
        return status_of(request_id)

    @app.post("/v1/requests/{request_id}/extend", response_model=RequestStatus, tags=["requests"],
              responses=problems(404, 409))  # fmt: skip
    def extend(request_id: RequestId, body: ExtendRequest, _caller: RequestsExtender) -> RequestStatus:
        """Take the one extension (to 90 days in all), with the reason told to the consumer."""
        service.extend(request_id, body.reason, utcnow())
        intake.relay.wakeup.set()
        return status_of(request_id)

    @app.get("/v1/requests/{request_id}/report", tags=["requests"], response_class=Response,
             responses={**problems(404, 410), 200: {"description": "The report in the link's format", "content": {
                 "application/json": {}, "application/zip": {}, "text/html": {}}}})  # fmt: skip
    def download_report(
        request_id: RequestId,
        expires: Annotated[int, Query(ge=0, lt=2**40, description="From the link: when it stops working (Unix time)")],
        signature: Annotated[
            str, Query(pattern="^[0-9a-f]{64}$", description="From the link: binds it to this request (hex)")
        ],
        format: Annotated[str, Query(pattern="^(json|csv|html)$", description="json | csv (zip) | html")] = "json",
    ) -> Response:
        """The access report through its expiring link (no API token: the signed link is the credential)."""
        download = intake.downloads.download(request_id, format, expires, signature)
        intake.relay.wakeup.set()
        disposition = "inline" if format == "html" else f'attachment; filename="{download.filename}"'
        headers = {"Content-Disposition": disposition, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return Response(download.content, media_type=download.media_type, headers=headers)

    def status_of(request_id: str) -> RequestStatus:
        return request_status.status_of(intake, request_id)

    @app.post("/v1/consent/lookup", tags=["consent"])
    def consent_lookup(body: ConsentLookup, _caller: ConsentReader) -> dict[str, Any]:
        """Current sale/sharing/limit state for these identifiers, with the GPP string and the confirmation text."""
        return intake.consent.lookup(body.identifiers.given())

    @app.get("/.well-known/gpc.json", tags=["signals"])
    def gpc_support() -> dict[str, Any]:
        """GPC support resource (W3C GPC §4)."""
        return {"gpc": True, "lastUpdate": settings.gpc_last_update.isoformat()}

    return app


# Errors whose message is the whole answer (each says what went wrong without echoing an identifier).
_ERROR_STATUS: dict[type[Exception], int] = {
    ExtensionNotAllowed: status.HTTP_409_CONFLICT,
    OptoutUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    LinkInvalid: status.HTTP_403_FORBIDDEN,
    LinkExpired: status.HTTP_410_GONE,
    ReportNotReady: status.HTTP_404_NOT_FOUND,
    ReportUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def _detail_handler(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def answer(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_code)

    return answer


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidIdentifier)
    async def invalid_identifier(_request: Request, exc: InvalidIdentifier) -> JSONResponse:
        REQUESTS_REJECTED.labels("invalid_identifier").inc()
        return JSONResponse(
            {"detail": [{"field": f"identifiers.{exc.field}", "error": exc.reason}]},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(IdempotencyConflict)
    async def idempotency_conflict(_request: Request, exc: IdempotencyConflict) -> JSONResponse:
        return JSONResponse(
            {"detail": [{"field": "Idempotency-Key", "error": str(exc)}]},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(RequestNotFound)
    async def not_found(_request: Request, exc: RequestNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no request {exc.args[0]}"}, status_code=status.HTTP_404_NOT_FOUND)

    for error, status_code in _ERROR_STATUS.items():
        app.add_exception_handler(error, _detail_handler(status_code))

    @app.exception_handler(RateLimitExceeded)
    async def too_many(request: Request, exc: RateLimitExceeded) -> JSONResponse:
        REQUESTS_REJECTED.labels("rate_limited").inc()
        return JSONResponse({"detail": f"rate limit exceeded: {exc.detail}"}, status_code=429,
                            headers={"Retry-After": str(retry_after_seconds(request))})  # fmt: skip


def retry_after_seconds(request: Request) -> int:
    """Whole seconds until the client's rate-limit window lets a submission through again (at least 1)."""
    limit, keys = request.state.view_rate_limit
    reset_at, _remaining = request.app.state.limiter.limiter.get_window_stats(limit, *keys)
    return max(1, math.ceil(float(reset_at) - time.time()))
