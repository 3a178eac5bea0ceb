"""Single sign-on pages (only when CCPA_CONSOLE_OIDC_ISSUER is set): /login/oidc sends the browser to the issuer,
/login/oidc/callback verifies what it brings back and signs in the EXISTING console account it names (linked by
the issuer's subject, or first by the `email` claim equal to the username). The role is always the account's."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from services.common.events import utcnow
from services.console.accounts.oidc import Pending, SignOnFailed, SingleSignOn
from services.console.actions import Acted, Action, Result
from services.console.bootstrap import Console
from services.console.web.auth_pages import DISABLED, local_path, sign_in_form, start_session
from services.console.web.templating import render

router = APIRouter(tags=["sign-in"])
log = logging.getLogger(__name__)
PENDING_COOKIE = "ccpa_console_oidc"
PENDING_SECONDS = 600  # the person has this long at the issuer
UNAVAILABLE = "Single sign-on is not available right now. Sign in with your password, or try again later."
EXPIRED = "The single sign-on did not finish in time, or did not start in this browser. Try again."
NOT_VERIFIED = "Your organisation's answer could not be verified, so you are not signed in. Try again."
NO_ACCOUNT = ("Your organisation signed you in, but no console account is linked to you. Ask an administrator to add "
              "one with your work e-mail address as its username.")  # fmt: skip


def _sso(request: Request) -> tuple[Console, SingleSignOn]:
    console: Console = request.app.state.console
    if console.sso is None:
        raise HTTPException(404)
    return console, console.sso


def _serializer(console: Console) -> URLSafeTimedSerializer:
    secret = hashlib.sha256(b"ccpa console oidc\0" + console.settings.subject_key_bytes()).hexdigest()
    return URLSafeTimedSerializer(secret, salt="single sign-on pending")


@router.get("/login/oidc", summary="Sign in with single sign-on")
def begin(request: Request, next: str | None = None) -> Response:
    """To the issuer's sign-in, with a state, a nonce and PKCE kept in a short-lived signed cookie."""
    console, sso = _sso(request)
    try:
        url, pending = sso.begin(local_path(next))
    except SignOnFailed as failed:
        log.warning("single sign-on unavailable: %s", failed)
        return sign_in_form(request, local_path(next), error=UNAVAILABLE, status_code=503)
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax, not Strict: it must come back with the issuer's redirect, a navigation from another site.
    kept = _serializer(console).dumps(asdict(pending))
    response.set_cookie(PENDING_COOKIE, kept, max_age=PENDING_SECONDS, path="/login/oidc", httponly=True,
                        secure=console.settings.secure_cookies, samesite="lax")  # fmt: skip
    return response


@router.get("/login/oidc/callback", summary="Back from single sign-on")
def callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
    """Verify the issuer's answer; sign in the console account it names, or say why not."""
    console, sso = _sso(request)
    pending = _pending(request, console)
    if pending is None or not code or not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        return _refused(request, EXPIRED, "/")
    try:
        identity = sso.finish(code, pending)
    except SignOnFailed as failed:
        log.warning("single sign-on refused: %s", failed)
        return _refused(request, NOT_VERIFIED, pending.next_path)
    account = console.accounts.for_identity(identity.subject, identity.email, utcnow())
    if account is None or account.disabled:
        who = account.operator() if account else None
        detail = "single sign-on: account disabled" if account else "single sign-on: no console account is linked"
        console.record.record(who, Acted(Action.SIGN_IN_REFUSED, Result.REFUSED, detail=detail))
        log.info("console sign-in refused", extra={"account_id": who.id if who else "unknown", "why": "sso"})
        return _refused(request, DISABLED if account else NO_ACCOUNT, pending.next_path)
    operator = account.operator()
    console.record.record(operator, Acted(Action.SIGNED_IN, Result.DONE, detail="single sign-on"))
    log.info("console sign-in", extra={"account_id": operator.id, "by": "sso"})
    # A page, not a redirect: after a chain of redirects begun on the issuer's site, a browser would not send the
    # SameSite=Strict session cookie; the page's own navigation to the console is same-site.
    page = render(request, "signed_in.html.j2", me=operator, next=pending.next_path)
    response = start_session(request, operator, pending.next_path, page)
    response.delete_cookie(PENDING_COOKIE, path="/login/oidc")
    return response


def _pending(request: Request, console: Console) -> Pending | None:
    kept = request.cookies.get(PENDING_COOKIE)
    if not kept:
        return None
    try:
        values = _serializer(console).loads(kept, max_age=PENDING_SECONDS)
        return Pending(**values)
    except (BadSignature, TypeError):
        return None


def _refused(request: Request, message: str, back: str) -> Response:
    response = sign_in_form(request, back, error=message, status_code=403)
    response.delete_cookie(PENDING_COOKIE, path="/login/oidc")
    return response
