"""The consumer's status page, reached through the link given after submitting (`/privacy/status/{token}`): the stage
as steps, the dates in Pacific time, any extension and why, the answer in words (or that it is being checked before
it is sent, when it is held for review), the report's download links. While
unanswered, htmx refreshes the status block from `/privacy/status/{token}/fragment`; without JS, a refresh link."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.common.events import utcnow
from services.intake.request_status import status_of
from services.intake.status_links import TOKEN_PATTERN, StatusLinkExpired, StatusLinkUnknown
from services.intake.web.center import PrivacyCenter
from services.intake.web.forms import SUBJECT_CHOICES
from services.intake.web.templating import render
from services.intake.web.wording import steps
from services.intake.wording import HELD, answer, is_answered, withheld

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

# The report's formats in the order a person wants them, with the link text they read.
REPORT_LINK_NAMES = {
    "html": "Read it in your browser",
    "csv": "Download as a spreadsheet (CSV, zipped)",
    "json": "Download as data (JSON)",
}
_TOKEN = re.compile(TOKEN_PATTERN)


class LinkRefused(LookupError):
    """The status link is unknown (404) or has expired (410): a page says so."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


@router.get("/privacy/status/{token}", response_class=HTMLResponse)
def status_page(request: Request, token: str) -> HTMLResponse:
    """Where the consumer's request stands, and its answer when there is one."""
    return _shown(request, token, "status.html.j2")


@router.get("/privacy/status/{token}/fragment", response_class=HTMLResponse)
def status_fragment(request: Request, token: str) -> HTMLResponse:
    """The status block alone, for htmx to refresh in place."""
    return _shown(request, token, "status_block.html.j2")


def _shown(request: Request, token: str, template: str) -> HTMLResponse:
    try:
        view = _view(request, token)
    except LinkRefused as refused:
        return render(request, "status_refused.html.j2", status_code=refused.status_code,
                      expired=refused.status_code == 410)  # fmt: skip
    return render(request, template, **view)


def _view(request: Request, token: str) -> dict[str, Any]:
    center: PrivacyCenter = request.app.state.privacy_center
    request_id = _resolve(center, token)
    status = status_of(center.intake, request_id)
    # The path is logged redacted (services/common/logs.py): the token never reaches a log line.
    log.info("status page %s shown for request %s", request.url.path, request_id)
    outcome = status.response.outcome if status.response else None
    denial_code = status.denial["code"] if status.denial else None
    review = status.review
    held = review is not None and review.state == "pending" and review.answer_ready
    told = answer(status.type, status.status, outcome, denial_code)
    if held:
        told = HELD
    elif review is not None and review.state == "denied":
        told = withheld(review.reason or "")
    return {
        "status": status,
        "answered": is_answered(status.status) and not held,
        "steps": steps(status.type, status.status, held=held),
        "answer": told,
        "opt_out_family": status.type in ("opt_out", "limit", "opt_in"),
        "report_links": _report_links(status.report.links) if status.report else [],
        "page_path": f"/privacy/status/{token}",
        "subject_as": SUBJECT_CHOICES.get(status.subject_type, status.subject_type),
    }


def _resolve(center: PrivacyCenter, token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise LinkRefused(404)
    links = center.intake.service.status_links
    try:
        with center.intake.service.engine.connect() as conn:
            return links.resolve(conn, token, utcnow())
    except StatusLinkUnknown:
        raise LinkRefused(404) from None
    except StatusLinkExpired:
        raise LinkRefused(410) from None


def _report_links(links: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, links[fmt]) for fmt, name in REPORT_LINK_NAMES.items() if fmt in links]
