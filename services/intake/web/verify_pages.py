"""The code page: the consumer types the code we e-mailed; the right one makes the request and leads to its status
page; wrong ones spend tries (after the last one the form is void), an expired one can be sent again."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services.common.events import utcnow
from services.intake.codes import CODE_PATTERN, TOKEN_PATTERN, CodeCheck
from services.intake.pending import AWAITING, SUBMITTED, Pending
from services.intake.web.abuse import Action, client_address
from services.intake.web.submissions import forms_of
from services.intake.web.templating import render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(pattern=TOKEN_PATTERN)]
_SPACES = re.compile(r"[\s-]+")


@router.get("/privacy/verify/{token}", response_class=HTMLResponse)
def code_page(request: Request, token: Token) -> Response:
    """Asks for the code (or says the form is void, expired, or its code could not be sent)."""
    forms = forms_of(request)
    pending = forms.pending.find(token)
    if pending is None:
        raise HTTPException(404)
    if pending.state == SUBMITTED:
        return _to_status(request, forms.pending.status_token(pending))
    if pending.state != AWAITING:
        return _ended(request, pending)
    return _page(request, token, pending, sent=request.query_params.get("sent") == "1")


@router.post("/privacy/verify/{token}", response_class=HTMLResponse)
async def type_code(request: Request, token: Token, code: Annotated[str, Form(max_length=40)] = "") -> Response:
    """The typed code: the right one submits the request (once, however often it is sent)."""
    forms, address = forms_of(request), client_address(request)
    pending = await run_in_threadpool(forms.pending.find, token)
    if pending is None:
        raise HTTPException(404)
    typed = _SPACES.sub("", code)
    if not re.match(CODE_PATTERN, typed):
        message = "Enter the 6-digit code from the e-mail we sent you."
        return _page(request, token, pending, error=message, status_code=422)
    forms.limits.hit(Action.CODE_TRIED, address, pending.subject_key)
    confirmed = await run_in_threadpool(forms.confirm, token, typed, center_gpc(request), utcnow())
    if confirmed is None:
        raise HTTPException(404)
    if confirmed.check is CodeCheck.RIGHT:
        return _to_status(request, confirmed.status_token)
    if confirmed.check is CodeCheck.WRONG:
        tries = confirmed.pending.tries_left
        message = f"That code is not right. Check the e-mail and try again: you have {tries} {_tries(tries)} left."
        return _page(request, token, confirmed.pending, error=message, status_code=422)
    if confirmed.check is CodeCheck.EXPIRED:
        return _page(request, token, confirmed.pending, status_code=410)
    return _ended(request, confirmed.pending)


@router.post("/privacy/verify/{token}/resend", response_class=HTMLResponse)
async def send_again(request: Request, token: Token) -> Response:
    """A new code (rate-limited per e-mail address and per client address)."""
    forms = forms_of(request)
    pending = await run_in_threadpool(forms.pending.find, token)
    if pending is None:
        raise HTTPException(404)
    if pending.state != AWAITING:
        return _ended(request, pending)
    await run_in_threadpool(forms.resend, pending, client_address(request), utcnow())
    return RedirectResponse(f"/privacy/verify/{token}?sent=1", status_code=303)


def center_gpc(request: Request) -> bool:
    return bool(request.app.state.privacy_center.gpc(request))


def _page(
    request: Request, token: str, pending: Pending, error: str | None = None, sent: bool = False, status_code: int = 200
) -> HTMLResponse:
    expired = pending.expires_at <= utcnow()
    return render(
        request,
        "verify.html.j2",
        status_code=status_code,
        token=token,
        pending=pending,
        error=error,
        expired=expired,
        sent=sent and not pending.last_delivery_failed,
        nav="requests",
        minutes=forms_of(request).mail.minutes,
    )


def _ended(request: Request, pending: Pending) -> HTMLResponse:
    return render(request, "verify_ended.html.j2", status_code=410, request_type=pending.request_type, nav="requests")


def _to_status(request: Request, status_token: str | None) -> Response:
    if status_token is None:  # the request exists; its link went to the browser that first sent the right code
        return render(
            request,
            "error.html.j2",
            status_code=409,
            title="We already have this request",
            message="Use the status link from the page you were shown, or from our e-mail.",
        )
    return RedirectResponse(f"/privacy/status/{status_token}", status_code=303)


def _tries(count: int) -> str:
    return "try" if count == 1 else "tries"
