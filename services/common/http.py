"""Operational HTTP routes every service exposes: /healthz (loops alive), /readyz (deps reachable), /metrics."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.runtime import ServiceRuntime

bearer = HTTPBearer(auto_error=False)


def ops_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness: every background loop has turned recently."""
        workers = runtime.liveness()
        code = status.HTTP_200_OK if all(workers.values()) else status.HTTP_503_SERVICE_UNAVAILABLE
        return JSONResponse({"service": runtime.service, "workers": workers}, status_code=code)

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the broker and the service's database answer."""
        checks = runtime.readiness()
        code = status.HTTP_200_OK if all(checks.values()) else status.HTTP_503_SERVICE_UNAVAILABLE
        return JSONResponse({"service": runtime.service, "checks": checks}, status_code=code)

    @router.get("/metrics")
    def metrics() -> Response:
        """Prometheus exposition."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Bearer API token, compared in constant time."""
    expected: str = request.app.state.api_token
    supplied = credentials.credentials if credentials else ""
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"}
        )


ApiToken = Annotated[None, Depends(require_token)]
