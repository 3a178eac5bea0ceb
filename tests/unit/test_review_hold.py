"""An answer under review in intake's tables (SQLite, a real key store): its e-mail held by the results consumer, a
pipeline's denial sent as any, a decision releasing or withdrawing the held e-mails with its AnswerReviewed in the
same transaction, and the team's re-send refused for a held notice or a shredded subject."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.consumer import Delivery
from services.common.crypto import KeyStore, Sealer
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.outbox import Outbox
from services.common.payloads.discovery import ReportReadyPayload
from services.common.payloads.requests import RequestCompletedPayload, RequestDeniedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames
from services.intake import orm, reviews
from services.intake.notices import NoticeQueue, QueuedNotice
from services.intake.results import ResultHandlers
from services.intake.review import AlreadyDecided, ReviewState, Verdict
from services.intake.revocation import SubjectKeys
from services.intake.status_links import StatusLinks
from services.intake.team_notices import NoticeNotResendable, TeamNotices

SECRET = b"s" * 32
REVIEWER = str(uuid.uuid4())
DELIVERY = Delivery("privacy.discovery.results", 0, 0)
CODEC = SingleObjectCodec()


class Desk:
    def __init__(self, tmp_path: Path) -> None:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
        orm.metadata.create_all(self.engine)
        self.keystore = KeyStore(make_engine(f"sqlite:///{tmp_path / 'keys.db'}"), {"m1": os.urandom(32)}, "m1")
        links = StatusLinks(SECRET, "http://intake.test", timedelta(days=120))
        self.queue = NoticeQueue(self.engine, Sealer(self.keystore), SECRET, links)
        outbox, topics = Outbox(orm.outbox, CODEC), TopicNames("t")
        self.results = ResultHandlers(SubjectKeys(self.keystore, outbox, topics), self.queue)
        self.reviews = reviews.ReviewDesk(self.engine, outbox, topics, self.queue)
        self.team = TeamNotices(self.engine, self.queue)

    def request(self, reviewed: bool = True) -> dict[str, Any]:
        subject_key, request_id, now = uuid.uuid4().hex * 2, str(uuid.uuid4()), utcnow()
        sealed = Sealer(self.keystore).seal({"email": "held@example.net"}, subject_key, request_id).to_json()
        row = {"request_id": request_id, "subject_key": subject_key, "request_type": "know_specific",
               "requested_type": "know_specific", "channel": "api", "status": "verified", "received_at": now,
               "respond_by": now + timedelta(days=45), "identifiers_sealed": sealed, "identifier_kinds": ["email"],
               "verification_required": "reasonably_high", "verification_achieved": "reasonably_high",
               "verification_outcome": "verified", "authorized_agent": False, "gpc": False}  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(sa.insert(orm.requests).values(**row))
            if reviewed:
                reviews.open_review(conn, request_id, now)
        return row

    def answer(self, request: dict[str, Any], *, denied: bool = False) -> None:
        subject_key, request_id = request["subject_key"], request["request_id"]
        with self.engine.begin() as conn:
            if denied:
                payload = RequestDeniedPayload(denial_code="exempt", basis="an exception applies")
                self.results.on_denied(Event(EventType.REQUEST_DENIED, subject_key, "discovery", payload,
                                             request_id=request_id), conn, DELIVERY)  # fmt: skip
                return
            ready = ReportReadyPayload(request_type="know_specific", formats=("json",), records=3,
                                       period_start=date(2026, 1, 1), period_end=date(2026, 12, 1),
                                       expires_at=utcnow() + timedelta(days=30), sha256="0" * 64)  # fmt: skip
            self.results.on_report_ready(Event(EventType.REPORT_READY, subject_key, "discovery", ready,
                                               request_id=request_id), conn, DELIVERY)  # fmt: skip
            done = RequestCompletedPayload(outcome="complied", summary="report ready")
            self.results.on_completed(Event(EventType.REQUEST_COMPLETED, subject_key, "discovery", done,
                                            request_id=request_id), conn, DELIVERY)  # fmt: skip

    def notices(self, request_id: str) -> list[sa.Row[Any]]:
        with self.engine.connect() as conn:
            table = orm.notices
            return list(conn.execute(sa.select(table).where(table.c.request_id == request_id)
                                     .order_by(table.c.created_at)))  # fmt: skip

    def published(self) -> list[Event]:
        with self.engine.connect() as conn:
            return [CODEC.decode(value) for value in conn.execute(sa.select(orm.outbox.c.message_value)).scalars()]


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path)


def test_a_reviewed_answer_is_kept_and_its_e_mail_held(desk: Desk) -> None:
    request = desk.request()
    desk.answer(request)
    [held] = desk.notices(request["request_id"])
    assert (held.notice, held.status) == ("report_ready", "held")
    assert desk.queue.claim(10, utcnow() + timedelta(hours=1)) == [], "the worker never sends a held e-mail"
    with desk.engine.connect() as conn:
        review = reviews.review_of(conn, request["request_id"])
        responded = conn.execute(sa.select(orm.requests.c.responded_at)).scalar()
    assert review is not None and review.state is ReviewState.PENDING and review.answer_ready_at is not None
    assert responded is None, "responded to when a person approves it"
    with pytest.raises(NoticeNotResendable, match="held"):
        desk.team.resend(request["request_id"], held.notice_id, utcnow())


def test_a_request_not_reviewed_is_answered_as_before(desk: Desk) -> None:
    request = desk.request(reviewed=False)
    desk.answer(request)
    assert [(n.notice, n.status) for n in desk.notices(request["request_id"])] == [("report_ready", "pending")]


def test_a_denial_by_the_pipeline_is_sent_and_ends_the_review(desk: Desk) -> None:
    request = desk.request()
    desk.answer(request, denied=True)
    assert [(n.notice, n.status) for n in desk.notices(request["request_id"])] == [("response", "pending")]
    with desk.engine.connect() as conn:
        assert reviews.review_of(conn, request["request_id"]) is None


def test_an_approval_releases_the_held_e_mail_with_its_answer_reviewed(desk: Desk) -> None:
    request = desk.request()
    desk.answer(request)
    desk.reviews.decide(request["request_id"], Verdict.APPROVED, None, REVIEWER, utcnow())
    assert [n.status for n in desk.notices(request["request_id"])] == ["pending"]
    [event] = [e for e in desk.published() if e.event_type is EventType.ANSWER_REVIEWED]
    assert event.payload.verdict == "approved" and event.payload.reviewer == REVIEWER
    assert event.subject_key == request["subject_key"] and event.request_id == request["request_id"]
    with pytest.raises(AlreadyDecided):
        desk.reviews.decide(request["request_id"], Verdict.DENIED, "too late now", REVIEWER, utcnow())
    assert len([e for e in desk.published() if e.event_type is EventType.ANSWER_REVIEWED]) == 1


def test_a_denial_withdraws_the_held_e_mail_and_tells_the_reason(desk: Desk) -> None:
    request = desk.request()
    desk.answer(request)
    desk.reviews.decide(request["request_id"], Verdict.DENIED, "It holds another person's data", REVIEWER, utcnow())
    withdrawn, told = desk.notices(request["request_id"])
    assert (withdrawn.notice, withdrawn.status) == ("report_ready", "withdrawn")
    assert (told.notice, told.status) == ("response", "pending")
    context = desk.queue.open(QueuedNotice.from_row(told)).context
    assert context["outcome"] == "denied" and context["review_reason"] == "It holds another person's data"
    with desk.engine.connect() as conn:
        assert reviews.withdrawn(conn, request["request_id"])


def test_a_copy_is_refused_once_the_subjects_key_is_shredded(desk: Desk) -> None:
    request = desk.request(reviewed=False)
    desk.answer(request)
    [notice] = desk.notices(request["request_id"])
    copy_id = desk.team.resend(request["request_id"], notice.notice_id, utcnow())
    copy = next(n for n in desk.notices(request["request_id"]) if n.notice_id == copy_id)
    assert copy.resent_from == notice.notice_id and copy.context_sealed == notice.context_sealed
    desk.keystore.shred_subject_keys(request["subject_key"])
    with pytest.raises(NoticeNotResendable, match="shredded"):
        desk.team.resend(request["request_id"], notice.notice_id, utcnow())
