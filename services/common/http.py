"""Operational HTTP routes every service exposes: /healthz (loops alive), /readyz (deps reachable), /metrics."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import OperationalError

from services.common.http_guard import BodyLimit, install_validation_errors
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


class Service(Protocol):
    runtime: ServiceRuntime

    def start(self) -> None: ...

    def stop(self) -> None: ...


def service_app(service: Service, api_token: str, title: str, description: str, store: str) -> FastAPI:
    """The FastAPI shell every service shares: start/stop with the app, token, ops routes, store-down as 503."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        service.stop()

    app = FastAPI(title=title, version="1", lifespan=lifespan, description=description)
    app.state.api_token = api_token
    app.add_middleware(BodyLimit, max_bytes=service.runtime.settings.max_body_bytes)
    install_validation_errors(app)
    app.include_router(ops_router(service.runtime))

    @app.exception_handler(OperationalError)
    async def store_down(_request: Request, _exc: OperationalError) -> JSONResponse:
        return JSONResponse({"detail": f"{store} unavailable; nothing was changed, try again"}, status_code=503)

    return app
