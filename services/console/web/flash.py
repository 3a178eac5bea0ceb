"""The one-line outcome of an action, carried across its 303 to the request page in a short-lived signed cookie
(itsdangerous), shown once in a role=status box and then forgotten. Signed, so no link can make the console say
something it did not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

COOKIE = "ccpa_console_flash"
LIFETIME_SECONDS = 120


@dataclass(frozen=True)
class Flash:
    ok: bool
    text: str


def _signer(request: Request) -> URLSafeTimedSerializer:
    settings = request.app.state.console.settings
    secret = hashlib.sha256(b"ccpa console flash\0" + settings.subject_key_bytes()).hexdigest()
    return URLSafeTimedSerializer(secret, salt="request-page")


def put(request: Request, response: Response, flash: Flash) -> None:
    value = _signer(request).dumps({"ok": flash.ok, "text": flash.text[:600]})
    response.set_cookie(COOKIE, value, max_age=LIFETIME_SECONDS, path="/requests", httponly=True, samesite="strict",
                        secure=request.app.state.console.settings.secure_cookies)  # fmt: skip


def back_to(request: Request, path: str, flash: Flash) -> RedirectResponse:
    """A 303 to the page, carrying the flash."""
    response = RedirectResponse(path, status_code=303)
    put(request, response, flash)
    return response


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/requests")


def read(request: Request) -> Flash | None:
    """The flash this browser carries, or None when there is none, it is too old or it is not ours."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        body = _signer(request).loads(value, max_age=LIFETIME_SECONDS)
    except BadSignature:
        return None
    return Flash(bool(body.get("ok")), str(body.get("text") or ""))
