"""The authorised agent's forms (§7063): the agent's name, the consumer's details and the signed permission (stored
sealed, never shown back). Know, delete and correct still need the code sent to the consumer's own e-mail
(§7063(a)(2)); opt-out, limit and opt-in never do (§7060(b))."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.common.events import utcnow
from services.intake.agent_permissions import PermissionFileRefused, media_type_of
from services.intake.api_models import AuthorizedAgent
from services.intake.web.abuse import client_address
from services.intake.web.forms import AGENT_TYPE_NAMES, AGENT_TYPES, CODE_FREE, read_form
from services.intake.web.request_pages import checked_post, form_page, form_type, text_fields
from services.intake.web.submissions import forms_of
from services.intake.web.templating import render

router = APIRouter(include_in_schema=False)
CHECKING = "agent-permission:checking"  # stands in for the reference while the other fields are checked


@router.get("/privacy/agent", response_class=HTMLResponse)
def choose(request: Request) -> HTMLResponse:
    """The request types an authorised agent can make for a consumer."""
    return render(
        request,
        "agent_index.html.j2",
        types=AGENT_TYPES,
        code_free=CODE_FREE,
        nav="agent",
        agent_type_names=AGENT_TYPE_NAMES,
    )


@router.get("/privacy/agent/{request_type}", response_class=HTMLResponse)
def blank_form(request: Request, request_type: str) -> HTMLResponse:
    """An agent's form for one request type, empty."""
    return form_page(request, form_type(request_type, AGENT_TYPES), {}, {}, agent=True)


@router.post("/privacy/agent/{request_type}", response_class=HTMLResponse)
async def send_form(request: Request, request_type: str) -> Response:
    """A filled-in agent form: the permission is stored once every field is right."""
    kind = form_type(request_type, AGENT_TYPES)
    form = await checked_post(request, kind, agent=True)
    if isinstance(form, HTMLResponse):
        return form
    forms, address, values = forms_of(request), client_address(request), text_fields(form)
    upload = form.get("permission")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    file_error = _file_error(content, upload)
    result = read_form(kind, values, agent=True, permission_reference=None if file_error else CHECKING)
    if file_error:
        result.errors["permission"] = file_error
    if result.body is None:
        return form_page(request, kind, result.values, result.errors, status_code=422, agent=True)
    body, now = result.body, utcnow()
    stored = await run_in_threadpool(forms.permissions.store, content, forms.subject_key(body), now)
    assert body.authorized_agent is not None
    agent = AuthorizedAgent(
        name=body.authorized_agent.name, signed_permission=True, permission_reference=stored.reference
    )
    body = body.model_copy(update={"authorized_agent": agent})
    if kind in CODE_FREE:
        token = await run_in_threadpool(forms.submit_directly, body, forms.center.gpc(request), now)
        return RedirectResponse(f"/privacy/status/{token}", status_code=303)
    pending_token = await run_in_threadpool(forms.start, body, address, now)
    return RedirectResponse(f"/privacy/verify/{pending_token}", status_code=303)


def _file_error(content: bytes, upload: object) -> str | None:
    if not isinstance(upload, UploadFile) or not content:
        return "Attach the consumer's signed permission as a PDF, PNG or JPEG file."
    try:
        media_type_of(content)
    except PermissionFileRefused as refused:
        return str(refused)
    return None
