"""Intake's notice worker: claims the due e-mails, renders and sends each, and records the attempt on its row with
a `NoticeSent` in the outbox, in one transaction. A notice the server took is not sent again unless that
transaction fails (at least once, never silently lost)."""

from __future__ import annotations

import logging
import threading
from email.message import EmailMessage
from typing import Protocol

import sqlalchemy as sa

from services.common.crypto import KeyShredded
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.leases import LeaseLost
from services.common.metrics import NOTICES, NOTICES_PENDING
from services.common.outbox import Outbox
from services.common.payloads.requests import NoticeSentPayload
from services.common.topics import REQUESTS, TopicNames
from services.intake.business import Business
from services.intake.mail import delivery
from services.intake.mail.compose import compose
from services.intake.mail.delivery import Attempt, RetryPolicy
from services.intake.mail.smtp import DeliveryFailed
from services.intake.notices import NoticeQueue, QueuedNotice
from services.intake.revocation import SubjectKeys

log = logging.getLogger(__name__)
PRODUCER = "intake"
BATCH = 20
POLL_SECONDS = 1.0  # a retry falls due without anything waking the worker


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str: ...


class NoticeWorker:
    def __init__(self, queue: NoticeQueue, mailer: Mailer, business: Business, outbox: Outbox,
                 topics: TopicNames, policy: RetryPolicy, keys: SubjectKeys | None = None) -> None:  # fmt: skip
        self.queue, self.mailer, self.business = queue, mailer, business
        self.outbox, self.topics, self.policy, self.keys = outbox, topics, policy, keys
        self.last_loop_at = utcnow()
        NOTICES_PENDING.set_function(self._pending_or_nan)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.last_loop_at = utcnow()
            try:
                handled = self.deliver_due()
            except sa.exc.SQLAlchemyError as exc:  # a database outage: the next round tries again
                log.warning("notice worker could not claim; trying again", extra={"error": type(exc).__name__})
                handled = 0
            if not handled:
                self.queue.wakeup.wait(POLL_SECONDS)
                self.queue.wakeup.clear()

    def deliver_due(self) -> int:
        """One round: every due notice claimed and tried once; how many."""
        notices = self.queue.claim(BATCH, utcnow())
        with self.queue.heartbeat():
            for notice in notices:
                self._deliver(notice)
                self.last_loop_at = utcnow()  # a slow mail server is no stuck worker
        return len(notices)

    def _deliver(self, notice: QueuedNotice) -> None:
        try:
            attempt = self._attempt(notice)
            with self.queue.engine.begin() as conn:
                self.queue.settle(conn, notice, attempt.row_values())
                self.outbox.add(conn, self.topics(REQUESTS), [notice_sent(notice, attempt)])
                if attempt.final and self.keys is not None:
                    self.keys.settle(conn, notice.subject_key)  # a deletion's shred waited for its answer
            NOTICES.labels(notice.notice, attempt.delivery).inc()
            log.info("notice attempted", extra={"request_id": notice.request_id, "notice": notice.notice,
                                                "delivery": attempt.delivery, "attempt": attempt.number})  # fmt: skip
        except LeaseLost:
            log.warning("notice lease lost; another process has it", extra={"request_id": notice.request_id})
        except Exception:
            # The lease lapses and the notice is claimed again.
            log.exception("notice attempt failed", extra={"request_id": notice.request_id, "notice": notice.notice})
        finally:
            self.queue.release(notice)

    def _attempt(self, notice: QueuedNotice) -> Attempt:
        number = notice.attempts + 1
        try:
            opened = self.queue.open(notice)
        except KeyShredded:
            return delivery.erased(number, utcnow())
        message = compose(notice.notice, opened.context, opened.recipient, self.business)
        try:
            message_id = self.mailer.send(message)
        except DeliveryFailed as failure:
            return self.policy.after_failure(number, failure.detail, failure.temporary, utcnow())
        return delivery.sent(number, message_id, utcnow())

    def _pending_or_nan(self) -> float:
        try:
            return float(self.queue.pending_count())
        except sa.exc.SQLAlchemyError:
            return float("nan")


def notice_sent(notice: QueuedNotice, attempt: Attempt) -> Event[NoticeSentPayload]:
    """The timeline's record of one attempt: no address, only its keyed hash."""
    payload = NoticeSentPayload(notice=notice.notice, template=notice.template,
                                template_version=notice.template_version, attempt=attempt.number,
                                delivery=attempt.delivery, detail=attempt.detail,
                                next_attempt_at=attempt.next_attempt_at, recipient_key=notice.recipient_key,
                                message_id=attempt.message_id)  # fmt: skip
    return Event(EventType.NOTICE_SENT, notice.subject_key, PRODUCER, payload, request_id=notice.request_id,
                 occurred_at=attempt.at)  # fmt: skip
