"""The console's browser protections: a strict Content-Security-Policy and the other security headers on every
response, and a CSRF token on every POST (asgi-csrf: a signed double-submit cookie, required on every POST even
from a browser without cookies)."""

from __future__ import annotations

from asgi_csrf import Errors, asgi_csrf_decorator
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.web_headers import PageHeaders, security_headers
from services.console.web.templating import environment

CSRF_FIELD = "csrftoken"
CSRF_COOKIE = "ccpa_console_csrf"
OPS_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")

SECURITY_HEADERS = security_headers("same-origin")


class SecurityHeaders(PageHeaders):
    """ASGI middleware: the security headers on every response of the console (pages, assets, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, SECURITY_HEADERS)


def csrf_protection(app: ASGIApp, signing_secret: str, secure_cookie: bool) -> ASGIApp:
    """asgi-csrf around the console: every POST needs the token, the sign-in form's too (`always_protect`)."""
    protected: ASGIApp = asgi_csrf_decorator(
        signing_secret=signing_secret,
        cookie_name=CSRF_COOKIE,
        form_input=CSRF_FIELD,
        skip_if_scope=lambda scope: str(scope.get("path", "")).startswith(OPS_PATHS),
        always_protect=_every_path,
        cookie_secure=secure_cookie,
        cookie_samesite="Strict",
        send_csrf_failed=_refused,
    )(app)
    return protected


class _EveryPath(set[str]):
    def __contains__(self, _path: object) -> bool:
        return True


_every_path = _EveryPath()


class CsrfProtection:
    """ASGI middleware form of `csrf_protection`, for service_app's `inner` list."""

    def __init__(self, app: ASGIApp, signing_secret: str, secure_cookie: bool) -> None:
        self.app = csrf_protection(app, signing_secret, secure_cookie)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _refused(_scope: Scope, send: Send, _error: Errors) -> None:
    page = environment.get_template("csrf_failed.html.j2").render(me=None, csrf_token="").encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(page)).encode()),
               (b"cache-control", b"no-store")]  # fmt: skip
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": page})
