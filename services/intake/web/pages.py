"""The privacy center's landing page and static assets; the request forms, choices and status pages are routers of
their own (see ROUTERS in services/intake/web/install.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.intake.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/privacy")
def privacy_root() -> RedirectResponse:
    return RedirectResponse("/privacy/", status_code=308)


@router.get("/privacy/", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    """The rights a Californian has here and a way to use each one."""
    return render(request, "landing.html.j2")
