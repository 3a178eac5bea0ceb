"""The request forms: choose a request type, fill in its form; a valid form is sent a code (see verify_pages.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from services.common.events import utcnow
from services.common.request_types import RequestType
from services.intake.declaration import DECLARATION_TEXT
from services.intake.web.abuse import Action, client_address
from services.intake.web.forms import (
    AGENT_TYPE_NAMES,
    CORRECTABLE,
    FORM_TYPES,
    MAX_CORRECTION_ROWS,
    SUBJECT_CHOICES,
    correction_rows,
    read_form,
)
from services.intake.web.submissions import forms_of
from services.intake.web.templating import render

router = APIRouter(include_in_schema=False)
CAPTCHA_ERROR = "Please complete the check that you are a person, then send the form again."


@router.get("/privacy/requests", response_class=HTMLResponse)
def choose(request: Request) -> HTMLResponse:
    """The request types a consumer can make here, each with its form."""
    return render(request, "requests_index.html.j2", types=FORM_TYPES, nav="requests")


@router.get("/privacy/requests/{request_type}", response_class=HTMLResponse)
def blank_form(request: Request, request_type: str) -> HTMLResponse:
    """The form of one request type, empty."""
    return form_page(request, form_type(request_type, FORM_TYPES), {}, {})


@router.post("/privacy/requests/{request_type}", response_class=HTMLResponse)
async def send_form(request: Request, request_type: str) -> Response:
    """A filled-in form: shown again with what is wrong, or kept until its e-mailed code is typed."""
    kind = form_type(request_type, FORM_TYPES)
    posted = await checked_post(request, kind, agent=False)
    if isinstance(posted, HTMLResponse):
        return posted
    forms, address, values = forms_of(request), client_address(request), text_fields(posted)
    result = read_form(kind, values)
    if result.body is None:
        return form_page(request, kind, result.values, result.errors, status_code=422)
    token = await run_in_threadpool(forms.start, result.body, address, utcnow())
    return RedirectResponse(f"/privacy/verify/{token}", status_code=303)


@router.get("/privacy/requests/correct/rows/{number}", response_class=HTMLResponse)
def correction_row(request: Request, number: int) -> HTMLResponse:
    """One more correction row (htmx's "add another"; without JavaScript the form has a fixed number of rows)."""
    if not 0 <= number < MAX_CORRECTION_ROWS:
        raise HTTPException(404)
    return render(
        request,
        "correction_row.html.j2",
        n=number,
        values={},
        errors={},
        correctable=CORRECTABLE,
        more=number + 1 < MAX_CORRECTION_ROWS,
    )


async def checked_post(request: Request, kind: RequestType, agent: bool) -> FormData | HTMLResponse:
    """A form POST past the address's rate limit (else TooMany) and the CAPTCHA (else the form again)."""
    forms, address = forms_of(request), client_address(request)
    forms.limits.hit(Action.FORM, address)
    form = await request.form()
    values = text_fields(form)
    if not await forms.captcha.passes(values, address):
        return form_page(request, kind, values, {"email": CAPTCHA_ERROR}, status_code=400, agent=agent)
    return form


def form_type(name: str, allowed: tuple[RequestType, ...]) -> RequestType:
    """The request type a path names, or a 404 page (no form for it here)."""
    for kind in allowed:
        if kind.value == name:
            return kind
    raise HTTPException(404)


def text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def form_page(
    request: Request,
    kind: RequestType,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
    agent: bool = False,
    **context: Any,
) -> HTMLResponse:
    """A request form, with what the consumer typed and a message per wrong field."""
    forms = forms_of(request)
    base = "/privacy/agent" if agent else "/privacy/requests"
    return render(
        request,
        "request_form.html.j2",
        status_code=status_code,
        request_type=kind.value,
        action=f"{base}/{kind.value}",
        values=values,
        errors=errors,
        agent=agent,
        rows=correction_rows(values),
        max_rows=MAX_CORRECTION_ROWS,
        correctable=CORRECTABLE,
        subject_choices=SUBJECT_CHOICES,
        declaration_text=DECLARATION_TEXT,
        agent_type_names=AGENT_TYPE_NAMES,
        captcha=forms.captcha,
        nav="agent" if agent else "requests",
        **context,
    )
