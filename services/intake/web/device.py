"""This browser, as the privacy center knows it: a random device id in a first-party cookie, never linked to a person
unless they give an e-mail address themselves. It is sent as the request's `device_id` identifier."""

from __future__ import annotations

import re
import secrets

from fastapi import Request
from starlette.responses import Response

DEVICE_COOKIE = "ccpa_device"
DEVICE_PREFIX = "web-"
# 13 months: a choice made in this browser is remembered about as long as a consent record should last.
DEVICE_COOKIE_SECONDS = 396 * 24 * 3600
_DEVICE_ID = re.compile(r"^web-[A-Za-z0-9_-]{32}$")


def new_device_id() -> str:
    return DEVICE_PREFIX + secrets.token_urlsafe(24)


def device_of(request: Request) -> str | None:
    """The device id this browser carries, or None (no cookie, or one we did not make)."""
    value = request.cookies.get(DEVICE_COOKIE)
    return value if value and _DEVICE_ID.fullmatch(value) else None


def remember(response: Response, device_id: str, secure: bool) -> None:
    """Sets (or renews) the device cookie: HttpOnly, SameSite=Lax, Secure on https, first-party, about 13 months."""
    response.set_cookie(DEVICE_COOKIE, device_id, max_age=DEVICE_COOKIE_SECONDS, path="/privacy", secure=secure,
                        httponly=True, samesite="lax")  # fmt: skip
