"""A request's status as intake knows it: stage, clocks, extension, the answer and the report's download links (the
JSON API's `GET /v1/requests/{id}` and the consumer's status page both read it from here). An answer held for review
hands out no report link until it is approved."""

from __future__ import annotations

from typing import Any

from services.common.events import utcnow
from services.intake import reviews
from services.intake.api_models import Extension, ReportLinks, RequestStatus, ReviewStatus
from services.intake.api_models import Response as ResponseModel
from services.intake.bootstrap import Intake
from services.intake.reports import expiry_of
from services.intake.review import links_released


def status_of(intake: Intake, request_id: str) -> RequestStatus:
    """The request's status; RequestNotFound when there is none. Report links only while they still work. One
    connection for the four reads: a client polling every few milliseconds costs one pool checkout per poll."""
    with intake.service.engine.connect() as conn:
        current = _status(intake.service.get(request_id, conn))
        answer = intake.service.response_of(request_id, conn)
        review = reviews.review_of(conn, request_id)
        report = intake.downloads.report_of(request_id, conn)
    if answer is not None:
        current.response = ResponseModel(outcome=answer.outcome, summary=answer.summary,
                                         responded_at=answer.responded_at, by=answer.producer)  # fmt: skip
    if review is not None:
        current.review = ReviewStatus(state=review.state.value, answer_ready=review.answer_ready_at is not None,
                                      decided_at=review.decided_at, reason=review.reason)  # fmt: skip
    if report is not None and expiry_of(report) > utcnow():
        released = links_released(review)
        links = intake.downloads.links.links(request_id, expiry_of(report), list(report.formats)) if released else {}
        current.report = ReportLinks(ready_at=report.ready_at, expires_at=report.expires_at, records=report.records,
                                     period_start=report.period_start, period_end=report.period_end,
                                     sha256=report.sha256, links=links)  # fmt: skip
    return current


def _status(row: Any) -> RequestStatus:
    return RequestStatus(
        request_id=row.request_id,
        type=row.request_type,
        requested_type=row.requested_type,
        channel=row.channel,
        subject_type=row.subject_type,
        status=row.status,
        received_at=row.received_at,
        acknowledged_at=row.acknowledged_at,
        due_at=row.respond_by,
        extension=Extension(
            extended=row.extended_at is not None,
            extended_at=row.extended_at,
            reason=row.extension_reason,
            max_respond_by=row.max_extended_respond_by,
        ),
        verification={
            "required": row.verification_required,
            "achieved": row.verification_achieved,
            "outcome": row.verification_outcome,
        },
        denial={"code": row.denial_code, "basis": row.denial_basis} if row.denial_code else None,
    )
