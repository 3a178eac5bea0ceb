"""Puts the privacy center on intake's app: its routers, its static assets, its middleware and error pages."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.responses import Response

from services.intake.settings import IntakeSettings
from services.intake.web import agent_pages, choices, pages, policy, request_pages, status, verify_pages
from services.intake.web.abuse import RateLimits, TooMany, too_many_page
from services.intake.web.center import PrivacyCenter
from services.intake.web.security import PREFIX as PREFIX
from services.intake.web.security import CsrfProtection, SecurityHeaders
from services.intake.web.templating import STATIC, render

ROUTERS: list[APIRouter] = [pages.router, choices.router, status.router, request_pages.router, verify_pages.router,
                              agent_pages.router, policy.router]  # fmt: skip
LARGER_BODIES: dict[str, int] = {}  # path prefix -> body limit, for forms that carry a file


def middleware(settings: IntakeSettings) -> list[Middleware]:
    """Inside intake's body limit: security headers, then CSRF (which reads form bodies)."""
    secret = hashlib.sha256(b"ccpa privacy center csrf\0" + settings.subject_key_bytes()).hexdigest()
    secure = settings.public_base_url.startswith("https://")
    return [Middleware(SecurityHeaders), Middleware(CsrfProtection, signing_secret=secret, secure_cookie=secure)]


def install(app: FastAPI, center: PrivacyCenter) -> None:
    app.state.privacy_center = center
    app.state.privacy_limits = RateLimits.from_settings(center.settings)  # the choices' per-address limit
    for router in ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="privacy-static")

    async def page_errors(request: Request, exc: Exception) -> Response:
        # Under /privacy a 404 or 405 is a page a person reads; elsewhere FastAPI's JSON answer stays.
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(PREFIX):
            return _error_page(request, exc.status_code)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, page_errors)
    app.add_exception_handler(TooMany, too_many_page)


def _error_page(request: Request, status_code: int) -> HTMLResponse:
    titles = {404: "We could not find that page", 405: "That is not something this page can do"}
    title = titles.get(status_code, "Something went wrong")
    return render(request, "error.html.j2", status_code=status_code, title=title)
