"""The privacy center's Jinja2 environment: autoescaped, strict about undefined names, with the plain-words filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.common.pages import csrf_token as csrf_token
from services.common.pages import page_environment
from services.intake.web.texts import REQUEST_TYPE_NAMES, REQUEST_TYPE_VERBS, long_date, long_datetime

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = page_environment(TEMPLATES)
environment.filters["long_date"] = long_date
environment.filters["long_datetime"] = long_datetime
environment.globals["request_type_names"] = REQUEST_TYPE_NAMES
environment.globals["request_type_verbs"] = REQUEST_TYPE_VERBS


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page of the privacy center: the business, the CSRF token and the page's own context."""
    center = request.app.state.privacy_center
    page = environment.get_template(template).render(
        business=center.business, csrf_token=csrf_token(request), gpc=center.gpc(request), **context
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
