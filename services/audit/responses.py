"""The §7101 date and nature of response, derived from each event's own facts: the work's completion, a denial, and
(when the business reviews the answer before it is sent) the reviewer's verdict. A held answer is no response yet.

Each handler stores only what its event says; `refresh` recomputes the derived columns from all of them, so the
record is the same whatever order the topics are read in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.audit import clocks, orm, tallies

APPROVED, DENIED = "approved", "denied"
REVIEW_DENIAL_CODE = "review_denied"  # §7102 counts the denial under this reason when a reviewer refused the answer


@dataclass(frozen=True)
class AnswerFacts:
    """What the events said about one request's answer, each fact from the event that owns it."""

    review_required: bool | None = None
    completed_at: datetime | None = None
    completed_nature: str | None = None
    denied_at: datetime | None = None
    denied_nature: str | None = None
    denied_code: str | None = None
    denied_basis: str | None = None
    review_state: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None


@dataclass(frozen=True)
class Response:
    """The §7101 response columns (all None while the request is unanswered) and whether an answer waits for review."""

    responded_at: datetime | None = None
    response_nature: str | None = None
    denial_code: str | None = None
    denial_basis: str | None = None
    awaiting_review: bool = False

    @property
    def answered(self) -> bool:
        return self.responded_at is not None


def response_of(facts: AnswerFacts) -> Response:
    """The answer the consumer was given: the later of a denial and the completed work; with review required, the
    work counts only once approved (on the approval's date) and a reviewer's denial is a denial on its date."""
    answers: list[Response] = []
    if facts.denied_at is not None:
        answers.append(Response(facts.denied_at, facts.denied_nature, facts.denied_code, facts.denied_basis))
    if facts.review_required and facts.review_state == DENIED and facts.reviewed_at is not None:
        answers.append(Response(facts.reviewed_at, DENIED, REVIEW_DENIAL_CODE, facts.review_reason))
    elif facts.completed_at is not None and not facts.review_required:
        answers.append(Response(facts.completed_at, facts.completed_nature))
    elif facts.completed_at is not None and facts.review_state == APPROVED and facts.reviewed_at is not None:
        answers.append(Response(facts.reviewed_at, facts.completed_nature))
    if answers:
        # A denial wins a tie: it is the more cautious reading of two answers given at one instant.
        return max(answers, key=lambda answer: (answer.responded_at, answer.response_nature == DENIED))
    held = bool(facts.review_required and facts.completed_at is not None and facts.review_state is None)
    return Response(awaiting_review=held)


FACT_COLUMNS = tuple(AnswerFacts.__dataclass_fields__)


def refresh(conn: sa.Connection, request_id: str, before: tallies.Counted | None) -> None:
    """Recompute the record's derived columns (response, due date in force, queue flags), the queue's tallies (the
    record was `before`) and the request's clocks."""
    records = orm.request_records
    row = conn.execute(sa.select(records).where(records.c.request_id == request_id)).first()
    if row is None:
        return
    response = response_of(AnswerFacts(**{name: row._mapping[name] for name in FACT_COLUMNS}))
    values: dict[str, Any] = {
        "responded_at": response.responded_at,
        "response_nature": response.response_nature,
        "denial_code": response.denial_code,
        "denial_basis": response.denial_basis,
        "answered": response.answered,
        "awaiting_review": response.awaiting_review,
        "due_at": row.extended_respond_by or row.respond_by,
    }
    conn.execute(sa.update(records).where(records.c.request_id == request_id).values(**values))
    tallies.move(conn, before, tallies.Counted(row.request_type, row.channel, response.answered, values["due_at"]))
    clocks.answer(conn, request_id, row.subject_key, response.responded_at, row.extended_at)
