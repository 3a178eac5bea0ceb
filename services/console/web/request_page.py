"""The request page: the story of one request, its §7101 record, its clocks, its answer, its report (downloaded
through the console by an operator, each download on the record), its recipients, notices and legal holds."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from services.common.events import utcnow
from services.console import words
from services.console.accounts.roles import Role
from services.console.actions import Acted, Action, Result
from services.console.bootstrap import Console
from services.console.clients import intake
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.web import flash
from services.console.web.deps import Acting, Viewer
from services.console.web.request_view import checked_request_id, gather, subject_key_of
from services.console.web.templating import render

router = APIRouter()


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: str, me: Viewer) -> HTMLResponse:
    """One request, as the privacy team reads it."""
    console = console_of(request)
    view = gather(console.services, console.accounts, checked_request_id(request_id), utcnow())
    message = flash.read(request)
    response = render(request, "request.html.j2", me=me, view=view, can_act=me.may(Role.OPERATOR),
                      formats=intake.REPORT_FORMATS, flash=message, nav="queue",
                      record_rows=words.record_rows(view.record), **words.page_words())  # fmt: skip
    if message is not None:
        flash.clear(response)
    return response


@router.get("/requests/{request_id}/report/{report_format}")
def download_report(request: Request, request_id: str, report_format: str, me: Acting) -> Response:
    """The report's bytes in one format, from intake; the download is on the record (target: the format)."""
    console, request_id = console_of(request), checked_request_id(request_id)
    if report_format not in intake.REPORT_FORMATS:
        return render(request, "error.html.j2", status_code=404, me=me, title="There is no such report format",
                      message="The report comes as json, csv or html.")  # fmt: skip
    acted = Acted(Action.REPORT_DOWNLOADED, Result.DONE, request_id=request_id, target=report_format,
                  subject_key=subject_key_of(console.services, request_id))  # fmt: skip
    try:
        report = intake.report(console.services.intake, request_id, report_format)
    except ServiceRefused as refused:
        console.record.record(me, _with(acted, Result.REFUSED, refused.detail))
        return flash.back_to(
            request,
            f"/requests/{request_id}",
            flash.Flash(False, f"The report could not be downloaded: {refused.detail}"),
        )
    except ServiceUnavailable as down:
        console.record.record(me, _with(acted, Result.FAILED, down.why))
        return flash.back_to(
            request,
            f"/requests/{request_id}",
            flash.Flash(False, "Intake could not be reached; nothing was downloaded, try again."),
        )
    console.record.record(me, acted)
    extension = {"json": "json", "csv": "zip", "html": "html"}[report_format]
    filename = f"report-{request_id}.{extension}"
    return Response(
        report.content,
        media_type=report.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _with(acted: Acted, result: Result, detail: str) -> Acted:
    return dataclasses.replace(acted, result=result, detail=detail)
