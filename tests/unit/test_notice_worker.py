"""The notice worker's attempt on a queued notice (SQLite, a real key store, a scripted mail server): the row and
the NoticeSent it commits together, for a delivery, a temporary and a permanent refusal, and an erased address."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.crypto import KeyStore, Sealer
from services.common.db import make_engine
from services.common.events import utcnow
from services.common.outbox import Outbox
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames
from services.intake import orm
from services.intake.business import Business
from services.intake.mail.delivery import RetryPolicy
from services.intake.mail.smtp import DeliveryFailed
from services.intake.mail.worker import NoticeWorker
from services.intake.notices import NoticeQueue, recipient_key
from services.intake.status_links import StatusLinks

SECRET = b"s" * 32
ADDRESS = "queued.consumer@example.net"
CODEC = SingleObjectCodec()


class ScriptedMailer:
    """Answers each send with the next scripted outcome: a Message-ID, or a DeliveryFailed raised."""

    def __init__(self, *outcomes: str | DeliveryFailed) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, DeliveryFailed):
            raise outcome
        self.sent.append(message)
        return outcome


@pytest.fixture
def parts(tmp_path: Path) -> tuple[sa.Engine, KeyStore, NoticeQueue]:
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    orm.metadata.create_all(engine)
    keystore = KeyStore(make_engine(f"sqlite:///{tmp_path / 'keys.db'}"), {"m1": os.urandom(32)}, "m1")
    links = StatusLinks(SECRET, "http://intake.test", timedelta(days=120))
    return engine, keystore, NoticeQueue(engine, Sealer(keystore), SECRET, links)


def request_row(keystore: KeyStore, identifiers: dict[str, str]) -> dict[str, Any]:
    """An opt-out's row as intake stores it, its identifiers sealed under a fresh subject key."""
    subject_key, request_id = uuid.uuid4().hex * 2, str(uuid.uuid4())
    return {
        "request_id": request_id,
        "subject_key": subject_key,
        "received_at": utcnow(),
        "request_type": "opt_out",
        "identifier_kinds": sorted(identifiers),
        "identifiers_sealed": Sealer(keystore).seal(identifiers, subject_key, request_id).to_json(),
    }


def queued(engine: sa.Engine, keystore: KeyStore, queue: NoticeQueue) -> dict[str, Any]:
    request = request_row(keystore, {"email": ADDRESS})
    with engine.begin() as conn:
        assert queue.enqueue(conn, request, "acknowledgement", {"respond_by": utcnow().isoformat()}, utcnow())
        assert not queue.enqueue(conn, request, "acknowledgement", {"respond_by": utcnow().isoformat()}, utcnow())
    return request


def worker(queue: NoticeQueue, mailer: ScriptedMailer, max_attempts: int = 3) -> NoticeWorker:
    business = Business("Example Co.", "privacy@example.com", "1-800-555-0100", "100 Example Street")
    return NoticeWorker(queue, mailer, business, Outbox(orm.outbox, CODEC), TopicNames("t."),
                        RetryPolicy(0.01, 0.02, max_attempts))  # fmt: skip


def state(engine: sa.Engine) -> tuple[sa.Row[Any], list[dict[str, Any]]]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(orm.notices)).one()
        events = [CODEC.decode(value) for value in conn.execute(sa.select(orm.outbox.c.message_value)).scalars()]
    return row, [event.payload.to_record() | {"type": event.event_type} for event in events]


def wait_until_due(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(orm.notices).values(next_attempt_at=utcnow()))


def test_a_delivered_notice_is_sent_once_with_its_message_id_on_the_event(parts: Any) -> None:
    engine, keystore, queue = parts
    request = queued(engine, keystore, queue)
    mailer = ScriptedMailer("<m1@example.com>")
    assert worker(queue, mailer).deliver_due() == 1
    assert worker(queue, mailer).deliver_due() == 0  # sent: never claimed again
    row, events = state(engine)
    assert row.status == "sent" and row.attempts == 1 and row.message_id == "<m1@example.com>" and row.sent_at
    [event] = events
    assert event["type"] == "NoticeSent" and event["delivery"] == "sent" and event["attempt"] == 1
    assert event["recipient_key"] == recipient_key(SECRET, ADDRESS) and ADDRESS not in repr(events)
    assert event["template"] == "acknowledgement" and event["template_version"] == "1"
    assert mailer.sent[0]["To"] == ADDRESS and "/privacy/status/" in str(mailer.sent[0].get_body(("plain",)))
    assert ADDRESS not in repr(tuple(row)), "the address is sealed in the table"
    assert request["request_id"] == row.request_id


def test_a_temporary_failure_retries_later_then_sends(parts: Any) -> None:
    engine, keystore, queue = parts
    queued(engine, keystore, queue)
    mailer = ScriptedMailer(DeliveryFailed("mail server unreachable (ConnectionRefusedError)", True), "<m2@x>")
    notices = worker(queue, mailer)
    notices.deliver_due()
    row, events = state(engine)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow() - timedelta(seconds=1)
    assert events[0]["delivery"] == "retrying" and events[0]["next_attempt_at"] is not None
    assert events[0]["detail"] == "mail server unreachable (ConnectionRefusedError)"
    wait_until_due(engine)
    notices.deliver_due()
    row, events = state(engine)
    assert row.status == "sent" and row.attempts == 2 and [e["delivery"] for e in events] == ["retrying", "sent"]


def test_a_permanent_refusal_fails_at_once(parts: Any) -> None:
    engine, keystore, queue = parts
    queued(engine, keystore, queue)
    worker(queue, ScriptedMailer(DeliveryFailed("recipient refused (SMTP 550)", False))).deliver_due()
    row, events = state(engine)
    assert row.status == "failed" and row.last_detail == "recipient refused (SMTP 550)"
    assert [(e["delivery"], e["attempt"]) for e in events] == [("failed", 1)]


def test_too_many_temporary_failures_give_up(parts: Any) -> None:
    engine, keystore, queue = parts
    queued(engine, keystore, queue)
    notices = worker(queue, ScriptedMailer(*[DeliveryFailed("SMTP 451", True)] * 2), max_attempts=2)
    notices.deliver_due()
    wait_until_due(engine)
    notices.deliver_due()
    row, events = state(engine)
    assert row.status == "failed" and [e["delivery"] for e in events] == ["retrying", "failed"]
    assert events[-1]["detail"] == "SMTP 451; gave up after 2 attempts"


def test_a_shredded_key_fails_the_notice_as_address_erased_without_sending(parts: Any) -> None:
    engine, keystore, queue = parts
    request = queued(engine, keystore, queue)
    keystore.shred_subject(request["subject_key"])
    mailer = ScriptedMailer()
    worker(queue, mailer).deliver_due()
    row, events = state(engine)
    assert row.status == "failed" and row.last_detail == "address erased" and mailer.sent == []
    assert events[0]["delivery"] == "failed" and events[0]["detail"] == "address erased"


def test_a_request_without_an_email_queues_no_notice(parts: Any) -> None:
    engine, keystore, queue = parts
    request = request_row(keystore, {"device_id": "d-1"})
    with engine.begin() as conn:
        assert not queue.enqueue(conn, request, "acknowledgement", {}, utcnow())
    assert queue.pending_count() == 0
