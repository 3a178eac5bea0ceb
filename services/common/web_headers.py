"""Security headers for the pages people use (the privacy center, the console): a strict Content-Security-Policy
(nothing from another host, no inline script or style, no framing) and the usual companions, on every response
under a path prefix."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(referrer_policy: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", referrer_policy.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    )


class PageHeaders:
    """ASGI middleware: `headers` on every response whose path starts with `prefix` (pages, assets, errors)."""

    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...], prefix: str = "") -> None:
        self.app = app
        self.headers = headers
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        names = {name for name, _value in self.headers}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", []) if name not in names]
                message = {**message, "headers": [*kept, *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
