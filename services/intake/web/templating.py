"""The privacy center's Jinja2 environment: autoescaped, strict about undefined names, with the plain-words filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.intake.web.texts import REQUEST_TYPE_NAMES, REQUEST_TYPE_VERBS, long_date, long_datetime

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["long_date"] = long_date
environment.filters["long_datetime"] = long_datetime
environment.globals["request_type_names"] = REQUEST_TYPE_NAMES
environment.globals["request_type_verbs"] = REQUEST_TYPE_VERBS


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser (asgi-csrf sets its cookie with the response that asked for it)."""
    return str(request.scope["csrftoken"]())


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page of the privacy center: the business, the CSRF token and the page's own context."""
    center = request.app.state.privacy_center
    page = environment.get_template(template).render(
        business=center.business, csrf_token=csrf_token(request), gpc=center.gpc(request), **context
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
