"""Intake's API as the console uses it: a request's status (its answer, report and review), the one extension, the
review of a held answer, the notices to the consumer and the report's bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.console.clients.base import ServiceClient
from services.console.clients.parsing import items_of, moment

REPORT_FORMATS = ("json", "csv", "html")


@dataclass(frozen=True)
class Review:
    """An answer held for review before it is sent: pending, approved or denied."""

    state: str
    decided_at: datetime | None
    reason: str | None
    answer_ready: bool  # the answer has arrived and is held: only then can it be approved or denied

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def awaiting_decision(self) -> bool:
        return self.pending and self.answer_ready


@dataclass(frozen=True)
class Answer:
    outcome: str
    summary: str
    responded_at: datetime | None


@dataclass(frozen=True)
class ReportSummary:
    ready_at: datetime | None
    expires_at: datetime | None
    records: int
    formats: tuple[str, ...]


@dataclass(frozen=True)
class RequestStatus:
    """What intake says about one request (its identifiers are never part of it)."""

    request_id: str
    request_type: str
    channel: str
    status: str
    received_at: datetime
    acknowledged_at: datetime | None
    due_at: datetime
    extended: bool
    extended_at: datetime | None
    extension_reason: str | None
    max_respond_by: datetime | None
    denial: dict[str, Any] | None
    answer: Answer | None
    report: ReportSummary | None
    review: Review | None

    @property
    def held(self) -> bool:
        """The answer waits for a person's review: not given to the consumer yet, its clock still running."""
        return self.review is not None and self.review.pending

    @property
    def answered(self) -> bool:
        return (self.answer is not None or self.denial is not None) and not self.held

    @classmethod
    def of(cls, body: dict[str, Any]) -> RequestStatus:
        extension = body.get("extension") or {}
        response, report, review = body.get("response"), body.get("report"), body.get("review")
        return cls(
            request_id=str(body["request_id"]), request_type=str(body["type"]), channel=str(body["channel"]),
            status=str(body["status"]), received_at=_required(body["received_at"]),
            acknowledged_at=moment(body.get("acknowledged_at")), due_at=_required(body["due_at"]),
            extended=bool(extension.get("extended")), extended_at=moment(extension.get("extended_at")),
            extension_reason=extension.get("reason"), max_respond_by=moment(extension.get("max_respond_by")),
            denial=body.get("denial"),
            answer=Answer(str(response["outcome"]), str(response["summary"]), moment(response.get("responded_at")))
            if response else None,
            # a held report has no links for the consumer, and the team may still read it in every format
            report=ReportSummary(moment(report.get("ready_at")), moment(report.get("expires_at")),
                                 int(report.get("records") or 0), tuple(sorted(report.get("links") or REPORT_FORMATS)))
            if report else None,
            review=Review(str(review["state"]), moment(review.get("decided_at")), review.get("reason"),
                          bool(review.get("answer_ready", True)))
            if review else None,
        )  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """One e-mail to the consumer about the request (its address is never part of it)."""

    notice_id: str
    kind: str  # acknowledgement | extension | response | report_ready | verification_code
    state: str  # pending | sent | failed | held (waiting for review) | withdrawn (by review)
    attempts: int
    created_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    resendable: bool
    resent_from: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Notice:
        return cls(str(body["notice_id"]), str(body.get("kind") or body.get("template") or "notice"),
                   str(body.get("state") or "unknown"), int(body.get("attempts") or 0),
                   moment(body.get("created_at")), moment(body.get("sent_at")), body.get("last_error"),
                   bool(body.get("resendable", True)), body.get("resent_from"))  # fmt: skip


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    media_type: str
    disposition: str | None


def status(intake: ServiceClient, request_id: str) -> RequestStatus:
    return RequestStatus.of(intake.get(f"/v1/requests/{request_id}"))


def extend(intake: ServiceClient, request_id: str, reason: str) -> RequestStatus:
    """The one extension; the reason is told to the consumer."""
    return RequestStatus.of(intake.post(f"/v1/requests/{request_id}/extend", {"reason": reason}))


def review(intake: ServiceClient, request_id: str, verdict: str, reason: str | None, reviewer: str) -> None:
    """Approve or deny the answer held for review (`reviewer`: the account's id)."""
    body = {"verdict": verdict, "reviewer": reviewer, **({"reason": reason} if reason else {})}
    intake.post(f"/v1/requests/{request_id}/review", body)


def notices(intake: ServiceClient, request_id: str) -> list[Notice]:
    return [Notice.of(item) for item in items_of(intake.get(f"/v1/requests/{request_id}/notices"), "notices")]


def resend_notice(intake: ServiceClient, request_id: str, notice_id: str, reason: str) -> None:
    intake.post(f"/v1/requests/{request_id}/notices/{notice_id}/resend", {"reason": reason})


def report(intake: ServiceClient, request_id: str, report_format: str) -> ReportFile:
    """The report's bytes in one format (intake records the download as ReportDownloaded)."""
    response = intake.raw(f"/v1/requests/{request_id}/report/{report_format}")
    return ReportFile(response.content, response.headers.get("content-type", "application/octet-stream"),
                      response.headers.get("content-disposition"))  # fmt: skip


def _required(value: Any) -> datetime:
    found = moment(value)
    if found is None:
        raise ValueError("intake's answer lacks a required instant")
    return found
