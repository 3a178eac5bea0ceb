"""The privacy center's browser protections: a strict Content-Security-Policy and the other security headers on
every page, and CSRF tokens on every form (asgi-csrf: a signed double-submit cookie checked on each POST)."""

from __future__ import annotations

from asgi_csrf import Errors, asgi_csrf_decorator
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.web_headers import PageHeaders, security_headers
from services.intake.web.multipart_csrf import RestoreHeaders, with_token_header
from services.intake.web.templating import environment

PREFIX = "/privacy"
CSRF_FIELD = "csrftoken"
CSRF_COOKIE = "ccpa_csrf"

# No Referer from any page under /privacy: status links carry a token.
SECURITY_HEADERS = security_headers("no-referrer")


class SecurityHeaders(PageHeaders):
    """ASGI middleware: the security headers on every response under /privacy (pages, assets, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, SECURITY_HEADERS, PREFIX)


class CsrfProtection:
    """ASGI middleware: asgi-csrf on the privacy center's forms; the JSON API (token-authenticated) is not affected.

    A browser without cookies has no ambient credential to forge, so asgi-csrf lets its first POST through; every
    browser that has been shown a form carries the token cookie and must send the matching field."""

    def __init__(self, app: ASGIApp, signing_secret: str, secure_cookie: bool) -> None:
        self.app = asgi_csrf_decorator(
            signing_secret=signing_secret,
            cookie_name=CSRF_COOKIE,
            form_input=CSRF_FIELD,
            skip_if_scope=lambda scope: not str(scope.get("path", "")).startswith(PREFIX),
            cookie_secure=secure_cookie,
            cookie_samesite="Lax",
            send_csrf_failed=_refused,
        )(RestoreHeaders(app))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX):
            scope, receive = await with_token_header(scope, receive, CSRF_FIELD)  # multipart: see multipart_csrf.py
        await self.app(scope, receive, send)


async def _refused(_scope: Scope, send: Send, _error: Errors) -> None:
    page = environment.get_template("csrf_failed.html.j2").render().encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(page)).encode()),
               (b"cache-control", b"no-store")]  # fmt: skip
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": page})
