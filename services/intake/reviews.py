"""Reviews before send in intake's database: a review opened with its request, the answer held when it arrives, and
a person's decision taken in one transaction with its `AnswerReviewed`, the held e-mails released or withdrawn and
the consumer told why (the rules are in services/intake/review.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.common.event_types import EventType
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.payloads.requests import AnswerReviewedPayload
from services.common.topics import REQUESTS, TopicNames
from services.intake import orm
from services.intake.notices import NoticeQueue
from services.intake.review import Review, ReviewState, Verdict, decide

PRODUCER = "intake"


def open_review(conn: sa.Connection, request_id: str, now: datetime) -> None:
    """A request of a reviewed type is accepted: its answer will wait for a person."""
    conn.execute(sa.insert(orm.reviews).values(request_id=request_id, state=ReviewState.PENDING.value, opened_at=now))


def review_of(conn: sa.Connection, request_id: str | None, lock: bool = False) -> Review | None:
    query = sa.select(orm.reviews).where(orm.reviews.c.request_id == request_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    return Review(ReviewState(row.state), row.answer_ready_at, row.decided_at, row.reason, row.reviewer)


def answer_ready(conn: sa.Connection, request_id: str | None, now: datetime) -> None:
    """The answer arrived and is held (the first arrival counts: a report, then its completion)."""
    table = orm.reviews
    conn.execute(sa.update(table).where(table.c.request_id == request_id, table.c.answer_ready_at.is_(None))
                 .values(answer_ready_at=now))  # fmt: skip


def close_undecided(conn: sa.Connection, request_id: str | None) -> bool:
    """The pipeline denied the request: its denial is sent as any, so nothing is left to review."""
    table = orm.reviews
    closed = conn.execute(sa.delete(table).where(table.c.request_id == request_id,
                                                 table.c.state == ReviewState.PENDING.value))  # fmt: skip
    return bool(closed.rowcount)


def withdrawn(conn: sa.Connection, request_id: str) -> bool:
    """The answer (and its report) was withdrawn by a review."""
    review = review_of(conn, request_id)
    return review is not None and review.state is ReviewState.DENIED


class RequestUnknown(LookupError):
    """No request has this id (404)."""


class ReviewDesk:
    """A person's decision on a held answer (`POST /v1/requests/{id}/review`)."""

    def __init__(self, engine: sa.Engine, outbox: Outbox, topics: TopicNames, notices: NoticeQueue | None) -> None:
        self.engine, self.outbox, self.topics, self.notices = engine, outbox, topics, notices

    def decide(self, request_id: str, verdict: Verdict, reason: str | None, reviewer: str, now: datetime) -> Review:
        with self.engine.begin() as conn:
            request = conn.execute(sa.select(orm.requests).where(orm.requests.c.request_id == request_id)).first()
            if request is None:
                raise RequestUnknown(request_id)
            decided = decide(review_of(conn, request_id, lock=True), verdict, reason, reviewer, now)
            conn.execute(sa.update(orm.reviews).where(orm.reviews.c.request_id == request_id).values(
                state=decided.state.value, reviewer=reviewer, reason=decided.reason, decided_at=now))  # fmt: skip
            payload = AnswerReviewedPayload(verdict=verdict.value, reviewer=reviewer, reason=decided.reason)
            event = Event(EventType.ANSWER_REVIEWED, request.subject_key, PRODUCER, payload, request_id=request_id,
                          occurred_at=now)  # fmt: skip
            self.outbox.add(conn, self.topics(REQUESTS), [event])
            if decided.state is ReviewState.APPROVED:
                # The answer goes out now: that is when the request is responded to (§7101).
                conn.execute(sa.update(orm.requests).where(orm.requests.c.request_id == request_id)
                             .values(responded_at=now))  # fmt: skip
                if self.notices is not None:
                    self.notices.release_held(conn, request_id, now)
            elif self.notices is not None:
                self.notices.withdraw_held(conn, request_id)
                told = {"outcome": "denied", "denial_code": None, "review_reason": decided.reason}
                self.notices.enqueue(conn, request._mapping, "response", told, now, dedup=f"{request_id}:review_denied")
        if self.notices is not None:
            self.notices.wake()
        return decided
