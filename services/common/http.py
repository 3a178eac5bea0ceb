"""The HTTP shell every service shares: /healthz (loops alive), /readyz (deps reachable), /metrics (token), the
OpenAPI document (public on intake, the public door; behind a token on the internal services)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.middleware import Middleware

from services.common.auth import Credentials, DocsReader, MetricsReader
from services.common.http_guard import COMMON_RESPONSES, BodyLimit, install_validation_errors
from services.common.permissions import exit_if_refused
from services.common.runtime import ServiceRuntime

bearer = HTTPBearer(auto_error=False)


class Liveness(BaseModel):
    """Whether each background loop this process runs has turned recently (an http replica runs none)."""

    service: str
    role: str
    workers: dict[str, bool]


class Readiness(BaseModel):
    """Whether each dependency of the service (broker, database) answers."""

    service: str
    checks: dict[str, bool]


def ops_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Liveness,
                responses={503: {"model": Liveness, "description": "A background loop has stalled"}})  # fmt: skip
    def healthz() -> JSONResponse:
        """Liveness: every background loop has turned recently."""
        return _probe(runtime.service, "workers", runtime.liveness(), role=runtime.role.value)

    @router.get("/readyz", response_model=Readiness,
                responses={503: {"model": Readiness, "description": "A dependency does not answer"}})  # fmt: skip
    def readyz() -> JSONResponse:
        """Readiness: the broker and the service's database answer."""
        return _probe(runtime.service, "checks", runtime.readiness())

    @router.get("/metrics", response_class=Response,
                responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}})  # fmt: skip
    def metrics(_caller: MetricsReader) -> Response:
        """Prometheus exposition (scraped with a token holding metrics:read)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _probe(service: str, name: str, results: dict[str, bool], **about: str) -> JSONResponse:
    """200 when every check passed, else 503; the body names each check either way."""
    code = status.HTTP_200_OK if all(results.values()) else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse({"service": service, **about, name: results}, status_code=code)


def internal_docs_router(app: FastAPI) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/openapi.json", include_in_schema=False)
    def openapi(_caller: DocsReader) -> JSONResponse:
        """This internal service's OpenAPI document (a token holding docs:read)."""
        return JSONResponse(app.openapi())

    return router


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """One bearer token, compared in constant time: for the demo's stand-ins of outside systems (providers), not
    for the pipeline's services, whose callers each have their own credential (services/common/auth.py)."""
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


def _lifespan(service: Service) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The service starts with the app (prepare, then its role's loops) and stops with it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        exit_if_refused(service.start)  # a refused start-up: a message and status 1, no traceback
        yield
        service.stop()

    return lifespan


def ops_app(service: Service, credentials: Credentials, title: str) -> FastAPI:
    """A worker replica's HTTP port: only /healthz, /readyz and /metrics, so its probes and Prometheus still work
    while the API is served by the http replicas."""
    app = FastAPI(title=f"{title} (worker)", version="1", lifespan=_lifespan(service), openapi_url=None,
                  docs_url=None, redoc_url=None)  # fmt: skip
    app.state.credentials = credentials
    app.include_router(ops_router(service.runtime))
    return app


def service_app(service: Service, credentials: Credentials, title: str, description: str, store: str,
                public_docs: bool = False, inner: Sequence[Middleware] = (),
                larger_bodies: Mapping[str, int] | None = None, page_prefix: str | None = None) -> FastAPI:  # fmt: skip
    """The FastAPI shell every service shares: start/stop with the app, callers' credentials, ops routes, body limit,
    validation errors without echoes, store-down as 503. Only the public door (intake) publishes its docs openly."""
    lifespan = _lifespan(service)
    if public_docs:
        # Swagger UI from the package's own copy: /docs loads nothing from another host and works offline.
        app = FastAPIOffline(title=title, version="1", lifespan=lifespan, description=description, redoc_url=None,
                             responses=COMMON_RESPONSES)  # fmt: skip
    else:
        app = FastAPI(title=title, version="1", lifespan=lifespan, description=description, openapi_url=None,
                      docs_url=None, redoc_url=None, responses=COMMON_RESPONSES)  # fmt: skip
    app.state.credentials = credentials
    for middleware in reversed(inner):  # inside the body limit: they never read more than it lets through
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(BodyLimit, max_bytes=service.runtime.settings.max_body_bytes, larger=larger_bodies,
                       page_prefix=page_prefix)  # fmt: skip
    install_validation_errors(app)
    app.include_router(ops_router(service.runtime))
    if not public_docs:
        app.include_router(internal_docs_router(app))

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, _exc: DataError) -> JSONResponse:
        # e.g. a NUL character, which PostgreSQL text cannot hold: the input's fault, and nothing was changed.
        return JSONResponse({"detail": "a value in the request cannot be stored or looked up (e.g. a NUL character); "
                                       "nothing was changed"}, status_code=400)  # fmt: skip

    @app.exception_handler(OperationalError)
    async def store_down(_request: Request, _exc: OperationalError) -> JSONResponse:
        return JSONResponse({"detail": f"{store} unavailable; nothing was changed, try again"}, status_code=503)

    return app
