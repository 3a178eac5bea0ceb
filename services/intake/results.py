"""What the acting services answered, read from their result topics, so `GET /v1/requests/{id}` tells the truth:
status completed or denied, the response summary, and the access report once it is ready. A completed deletion
revokes the subject's earlier reports and, when nothing needs it any more, shreds the subject's data key. The answer
of a request under review before send is kept, its e-mail held until a person decides (services/intake/reviews.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from services.common.consumer import Delivery, Handler, Routes, about_request, dispatch
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads.deletion import DeletionCompletedPayload
from services.common.payloads.discovery import ReportReadyPayload
from services.common.payloads.requests import RequestCompletedPayload, RequestDeniedPayload
from services.common.topics import DELETION_RESULTS, DISCOVERY_RESULTS, OPTOUT_RESULTS
from services.intake import orm, reviews
from services.intake.notices import NoticeQueue
from services.intake.review import Disposition, disposition
from services.intake.revocation import SubjectKeys, record_deletion

SUBSCRIBED = (DISCOVERY_RESULTS, DELETION_RESULTS, OPTOUT_RESULTS)  # the topics of the routed event types
FINAL_STATUS = {EventType.REQUEST_COMPLETED: "completed", EventType.REQUEST_DENIED: "denied"}


class ResultHandlers:
    def __init__(self, keys: SubjectKeys, notices: NoticeQueue | None = None) -> None:
        self.keys = keys
        self.notices = notices  # None: consumer e-mail is off
        handlers: dict[EventType, Handler] = {
            EventType.REQUEST_COMPLETED: self.on_completed,
            EventType.REQUEST_DENIED: self.on_denied,
            EventType.REPORT_READY: self.on_report_ready,
            EventType.DELETION_COMPLETED: self.on_deletion_completed,
        }
        self.routes: Routes = {event_type: about_request(handler) for event_type, handler in handlers.items()}

    def handle(self, event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        dispatch(self.routes, event, conn, delivery)

    def on_completed(self, event: Event[RequestCompletedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        self._answered(event, conn, event.payload.outcome, event.payload.summary, {})

    def on_denied(self, event: Event[RequestDeniedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        denial = {"denial_code": event.payload.denial_code, "denial_basis": event.payload.basis}
        self._answered(event, conn, "denied", event.payload.basis, denial)

    def _answered(self, event: Event, conn: sa.Connection, outcome: str, summary: str,
                  denial: Mapping[str, object]) -> None:  # fmt: skip
        _upsert(conn, orm.responses, {"request_id": event.request_id, "outcome": outcome, "summary": summary,
                                      "responded_at": event.occurred_at, "producer": event.producer})  # fmt: skip
        if outcome == "denied":  # a denial by the pipeline is sent as any: nothing is left to review
            reviews.close_undecided(conn, event.request_id)
        held = False if outcome == "denied" else self._hold(conn, event)
        # A held answer is responded to when a person approves it (services/intake/reviews.py).
        responded = {"responded_at": event.occurred_at} if held is False else {}
        values = {"status": FINAL_STATUS[event.event_type], **responded, **denial}
        conn.execute(sa.update(orm.requests).where(orm.requests.c.request_id == event.request_id).values(**values))
        if self.notices is not None and held is not None and (outcome == "denied"
                                                              or not _has_report(conn, event.request_id)):  # fmt: skip
            told = {"outcome": "denied" if outcome == "denied" else "completed",
                    "denial_code": denial.get("denial_code")}  # fmt: skip
            self.notices.enqueue_for(conn, event.request_id, "response", told, event.occurred_at, held=held)
        self.keys.settle(conn, event.subject_key)  # after the answer's e-mail is queued: a pending one holds the shred

    def on_deletion_completed(
        self, event: Event[DeletionCompletedPayload], conn: sa.Connection, _delivery: Delivery
    ) -> None:
        if event.payload.operation == "delete":
            record_deletion(conn, event)

    def on_report_ready(self, event: Event[ReportReadyPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        payload = event.payload
        row = {
            "request_id": event.request_id,
            "request_type": payload.request_type,
            "formats": list(payload.formats),
            "records": payload.records,
            "period_start": payload.period_start,
            "period_end": payload.period_end,
            "sha256": payload.sha256,
            "ready_at": event.occurred_at,
            "expires_at": payload.expires_at,
        }
        _upsert(conn, orm.reports, row)
        held = self._hold(conn, event)
        if self.notices is not None and held is not None:
            told = {"expires_at": payload.expires_at.isoformat()}
            self.notices.enqueue_for(conn, event.request_id, "report_ready", told, event.occurred_at, held=held)

    @staticmethod
    def _hold(conn: sa.Connection, event: Event) -> bool | None:
        """Whether the answer's e-mail waits for its review (True), goes now (False) or never (None: withdrawn)."""
        # Locked: a decision taken meanwhile either sees this held e-mail (and releases it) or is seen here.
        decided = disposition(reviews.review_of(conn, event.request_id, lock=True))
        if decided is Disposition.HOLD:
            reviews.answer_ready(conn, event.request_id, event.occurred_at)
        return None if decided is Disposition.DROP else decided is Disposition.HOLD


def _has_report(conn: sa.Connection, request_id: str | None) -> bool:
    """A know request answered with a report: its report_ready e-mail is the answer (one e-mail, not two)."""
    query = sa.select(orm.reports.c.request_id).where(orm.reports.c.request_id == request_id)
    return conn.execute(query).first() is not None


def _upsert(conn: sa.Connection, table: sa.Table, row: Mapping[str, object]) -> None:
    insert = insert_for(conn, table).values(**row)
    changed = {column: insert.excluded[column] for column in row if column != "request_id"}
    conn.execute(insert.on_conflict_do_update(index_elements=["request_id"], set_=changed))
