"""Abuse limits of the privacy center: rate limits per client address and per identifier (a keyed hash of the e-mail,
never the address) on form submissions, codes sent and codes tried (the `limits` library, memory or Redis), a 429
page with Retry-After, and an optional CAPTCHA check (any siteverify-compatible provider)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from enum import StrEnum

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.intake.settings import IntakeSettings
from services.intake.web.templating import render

# The field each provider's widget adds to the form (hCaptcha, reCAPTCHA, Turnstile, or a generic one).
CAPTCHA_FIELDS = ("h-captcha-response", "g-recaptcha-response", "cf-turnstile-response", "captcha-response")


class Action(StrEnum):
    FORM = "form"
    CODE_SENT = "code-sent"
    CODE_TRIED = "code-tried"
    CHOICE = "choice"  # a Your Privacy Choices POST: per address only (no identifier is required there)


class TooMany(Exception):
    """A rate limit refused this; `retry_after` whole seconds until it lets one through."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


def rate_keys(action: Action, address: str | None, identifier: str | None) -> list[tuple[str, str, str]]:
    """The counters one action counts on: per client address and per identifier (a keyed hash, never the e-mail)."""
    keys = [(action.value, "address", address)] if address else []
    return keys + ([(action.value, "identifier", identifier)] if identifier else [])


class RateLimits:
    """`address`: the limits on each action per client address; `identifier`: each action's limits per identifier."""

    def __init__(self, storage_url: str, address: str, identifier: dict[Action, str],
                 address_of: dict[Action, str] | None = None) -> None:  # fmt: skip
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self.address = parse_many(address)
        self.identifier = {action: parse_many(text) for action, text in identifier.items()}
        self.address_of = {action: parse_many(text) for action, text in (address_of or {}).items()}

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> RateLimits:
        identifier = {
            Action.FORM: settings.privacy_submit_rate_limit,
            Action.CODE_SENT: settings.privacy_code_send_limit,
            Action.CODE_TRIED: settings.privacy_code_try_limit,
        }
        choices = {Action.CHOICE: settings.choices_rate_limit}
        return cls(settings.rate_limit_storage_url, settings.privacy_address_rate_limit, identifier, choices)

    def hit(self, action: Action, address: str | None, identifier: str | None = None) -> None:
        """Count one `action`, or TooMany (counting nothing) when any of its limits is reached; `identifier` is the
        subject key (a keyed hash of the e-mail address)."""
        pairs = [
            (limit, key) for key in rate_keys(action, address, identifier) for limit in self._limits(action, key[1])
        ]
        refused = [(limit, key) for limit, key in pairs if not self.limiter.test(limit, *key)]
        if refused:
            raise TooMany(max(self._retry_after(limit, key) for limit, key in refused))
        for limit, key in pairs:
            self.limiter.hit(limit, *key)

    def _limits(self, action: Action, counted_by: str) -> list[RateLimitItem]:
        if counted_by == "address":
            return self.address_of.get(action, self.address)
        return self.identifier.get(action, [])

    def _retry_after(self, limit: RateLimitItem, key: tuple[str, ...]) -> int:
        reset_at, _remaining = self.limiter.get_window_stats(limit, *key)
        return max(1, math.ceil(float(reset_at) - time.time()))


def client_address(request: Request) -> str | None:
    """The client's address as intake sees it (behind a proxy, run uvicorn with --forwarded-allow-ips)."""
    return request.client.host if request.client else None


def too_many_page(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, TooMany)
    minutes = max(1, math.ceil(exc.retry_after / 60))
    page = render(request, "too_many.html.j2", status_code=429, minutes=minutes)
    page.headers["Retry-After"] = str(exc.retry_after)
    return page


class Captcha:
    """The CAPTCHA hook: off unless CCPA_CAPTCHA_VERIFY_URL is set; then every form POST must pass the provider's
    siteverify check (POST secret, response, remoteip; JSON answer with `success`)."""

    def __init__(self, settings: IntakeSettings) -> None:
        self.verify_url = settings.captcha_verify_url
        self.secret = settings.captcha_secret.get_secret_value() if settings.captcha_secret else ""
        self.site_key = settings.captcha_site_key
        self.script_url = settings.captcha_script_url

    @property
    def on(self) -> bool:
        return self.verify_url is not None

    async def passes(self, form: Mapping[str, object], address: str | None) -> bool:
        if self.verify_url is None:
            return True
        answer = next((str(form[name]) for name in CAPTCHA_FIELDS if form.get(name)), "")
        if not answer:
            return False
        data = {"secret": self.secret, "response": answer} | ({"remoteip": address} if address else {})
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(self.verify_url, data=data)
            return response.status_code == 200 and response.json().get("success") is True
        except (httpx.HTTPError, ValueError):
            return False  # the provider is down or answers nonsense: refuse rather than let every bot through
