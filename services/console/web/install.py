"""Puts the console's pages on its app: the routers, the static assets, the middleware and the error pages."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.responses import Response

from services.common.events import utcnow
from services.console.accounts.sessions import COOKIE
from services.console.settings import ConsoleSettings
from services.console.web import (
    auth_pages,
    consent_pages,
    dashboard_pages,
    oidc_pages,
    queue_pages,
    request_actions,
    request_page,
)
from services.console.web.deps import NotAllowed, NotSignedIn, login_url
from services.console.web.security import CsrfProtection, SecurityHeaders
from services.console.web.templating import STATIC, render

# One router per page family; each module's `router` is added here as it is written.
ROUTERS: list[APIRouter] = [
    auth_pages.router,
    oidc_pages.router,
    queue_pages.router,
    dashboard_pages.router,
    consent_pages.router,
    request_page.router,
    request_actions.router,
]


def middleware(settings: ConsoleSettings) -> list[Middleware]:
    """Inside the body limit: security headers, then CSRF (which reads form bodies)."""
    secret = hashlib.sha256(b"ccpa console csrf\0" + settings.subject_key_bytes()).hexdigest()
    return [Middleware(SecurityHeaders),
            Middleware(CsrfProtection, signing_secret=secret, secure_cookie=settings.secure_cookies)]  # fmt: skip


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="console-static")

    async def not_signed_in(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSignedIn)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return render(request, "error.html.j2", status_code=403, me=getattr(request.state, "operator", None),
                      title="Your role does not allow this",
                      message=f"This needs the {exc.needed.value} role; an administrator can give it.")  # fmt: skip

    async def page_errors(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and request.method == "GET" and not _has_session(request):
            # Signed out, every page is behind the sign-in page, those that do not exist too (which do is not told)
            return RedirectResponse(login_url(request.url.path), status_code=303)
        return _error_page(request, exc.status_code)

    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(NotAllowed, not_allowed)
    app.add_exception_handler(StarletteHTTPException, page_errors)


def _has_session(request: Request) -> bool:
    token = request.cookies.get(COOKIE)
    return bool(token) and request.app.state.console.sessions.resolve(token, utcnow()) is not None


def _error_page(request: Request, status_code: int) -> HTMLResponse:
    titles = {404: "There is no such page", 405: "That is not something this page can do"}
    return render(request, "error.html.j2", status_code=status_code, me=getattr(request.state, "operator", None),
                  title=titles.get(status_code, "Something went wrong"), message=None)  # fmt: skip
