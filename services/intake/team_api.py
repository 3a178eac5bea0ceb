"""The privacy team's routes on a request (the console calls them with its own token): review an answer held before
it is sent, the request's e-mails and a copy of one sent again, and the report's bytes for reading."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, FastAPI, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from services.common.auth import NoticesWriter, ReportsDownloader, RequestsReader, ReviewsWriter
from services.common.events import utcnow
from services.common.http_guard import RequestId, problems
from services.intake import request_status
from services.intake.api_models import RequestStatus, Strict
from services.intake.bootstrap import Intake
from services.intake.review import MAX_REASON, ReasonRequired, ReviewRefused, Verdict, check_reason
from services.intake.reviews import RequestUnknown, ReviewDesk
from services.intake.team_notices import NoticeNotResendable, NoticeUnknown, NoticeView, TeamNotices

ReportFormat = Annotated[Literal["json", "csv", "html"], Path(description="json | csv (zip) | html")]
NoticeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,80}$", description="A notice's id, from the list")]


class ReviewBody(Strict):
    verdict: Verdict
    reason: str | None = Field(None, max_length=MAX_REASON, description="Required to deny (5-500): told the consumer")
    reviewer: UUID = Field(description="The console account's id of the person who decides")

    @model_validator(mode="after")
    def _a_denial_says_why(self) -> ReviewBody:
        check_reason(self.verdict, self.reason)
        return self


class ResendBody(Strict):
    reason: str = Field(min_length=1, max_length=500, description="Why it is sent again (the console records it)")


class Notice(BaseModel):
    """One e-mail to the consumer about the request: never its address or its text."""

    notice_id: str
    kind: str
    template: str
    template_version: str
    state: str = Field(description="pending | sent | failed | held (waiting for review) | withdrawn (by review)")
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    resendable: bool
    resent_from: str | None


class Notices(BaseModel):
    request_id: str
    notices: list[Notice]


class Resent(BaseModel):
    request_id: str
    notice_id: str = Field(description="The fresh copy's id")
    resent_from: str


def install(app: FastAPI, intake: Intake) -> None:
    """Add the team's routes and the answers to their refusals."""
    app.include_router(router(intake))
    for error, status_code in _ERROR_STATUS.items():
        app.add_exception_handler(error, _detail(status_code))


def router(intake: Intake) -> APIRouter:
    service = intake.service
    desk = ReviewDesk(service.engine, service.outbox, service.topics, service.notices)
    team_notices = TeamNotices(service.engine, service.notices)
    routes = APIRouter(tags=["team"])

    @routes.post("/v1/requests/{request_id}/review", response_model=RequestStatus, responses=problems(404, 409))
    def review(request_id: RequestId, body: ReviewBody, _caller: ReviewsWriter) -> RequestStatus:
        """Approve (it is sent now) or deny (withdrawn, the consumer told why) an answer held for review."""
        service.get(request_id)
        desk.decide(request_id, body.verdict, body.reason, str(body.reviewer), utcnow())
        intake.relay.wakeup.set()
        return request_status.status_of(intake, request_id)

    @routes.get("/v1/requests/{request_id}/notices", response_model=Notices, responses=problems(404))
    def notices(request_id: RequestId, _caller: RequestsReader) -> Notices:
        """The e-mails to the consumer about this request: kind, delivery, attempts (no address, no text)."""
        service.get(request_id)
        return Notices(request_id=request_id, notices=[_notice(view) for view in team_notices.of_request(request_id)])

    @routes.post("/v1/requests/{request_id}/notices/{notice_id}/resend", response_model=Resent,
                 status_code=status.HTTP_202_ACCEPTED, responses=problems(404, 409))  # fmt: skip
    def resend(request_id: RequestId, notice_id: NoticeId, _body: ResendBody, _caller: NoticesWriter) -> Resent:
        """Queue a fresh copy of one e-mail (same kind and content); the worker sends it and reports a NoticeSent."""
        service.get(request_id)
        copy_id = team_notices.resend(request_id, notice_id, utcnow())
        return Resent(request_id=request_id, notice_id=copy_id, resent_from=notice_id)

    @routes.get("/v1/requests/{request_id}/report/{format}", response_class=Response,
                responses={**problems(404, 410), 200: {"description": "The report", "content": {
                    "application/json": {}, "application/zip": {}, "text/html": {}}}})  # fmt: skip
    def report(request_id: RequestId, format: ReportFormat, _caller: ReportsDownloader) -> Response:
        """The report's bytes for the team (a held one too, to review it); each download is a ReportDownloaded."""
        service.get(request_id)
        download = intake.downloads.team_download(request_id, format)
        intake.relay.wakeup.set()
        headers = {"Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store",
                   "Referrer-Policy": "no-referrer"}  # fmt: skip
        return Response(download.content, media_type=download.media_type, headers=headers)

    return routes


def _notice(view: NoticeView) -> Notice:
    return Notice(**view.__dict__)


_ERROR_STATUS: dict[type[Exception], int] = {
    ReviewRefused: status.HTTP_409_CONFLICT,
    ReasonRequired: status.HTTP_422_UNPROCESSABLE_CONTENT,
    RequestUnknown: status.HTTP_404_NOT_FOUND,
    NoticeUnknown: status.HTTP_404_NOT_FOUND,
    NoticeNotResendable: status.HTTP_409_CONFLICT,
}


def _detail(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def answer(_request: Request, exc: Exception) -> JSONResponse:
        message = "no such request" if isinstance(exc, RequestUnknown) else str(exc)
        return JSONResponse({"detail": message}, status_code=status_code)

    return answer
