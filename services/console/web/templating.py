"""The console's Jinja2 environment (autoescaped, strict about undefined names) and `render`, which gives every page
the person signed in and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.common.pacific import long_date, moment_text
from services.common.pages import csrf_token as csrf_token
from services.common.pages import page_environment
from services.console.accounts.roles import Operator, Role

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = page_environment(TEMPLATES)
environment.filters["long_date"] = long_date
environment.filters["moment"] = moment_text
environment.globals["Role"] = Role


def render(request: Request, template: str, status_code: int = 200, me: Operator | None = None,
           **context: Any) -> HTMLResponse:  # fmt: skip
    """A console page: the person signed in (None on the sign-in page), the CSRF token and the page's context."""
    page = environment.get_template(template).render(me=me, csrf_token=csrf_token(request), **context)
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
