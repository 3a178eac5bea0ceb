"""An operator's actions on a request's recipients, on a SQLite deletion database: which states may be confirmed by
hand or re-sent, the note kept (masked), each confirmation's events put in the outbox once whoever records it (an
operator, a provider's callback after the answer), re-sends due now with their attempt recorded, and legal holds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.crypto import KeyStore, Sealer
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.deletion import orm
from services.deletion.erasure import LegalHolds
from services.deletion.erasure import metadata as erasure_metadata
from services.deletion.jobs import unreported
from services.deletion.notices import ConfirmationReporter, status_of
from services.deletion.providers.confirmations import CallbackHandler
from services.deletion.providers.instructions import InstructionQueue, metadata
from services.deletion.providers.model import (
    Answer,
    OperatorRefused,
    State,
    Step,
    confirmable,
    next_state,
    resend_step,
)
from services.deletion.recipients import InstructionNotKnown, Recipients, RequestNotKnown
from tests.unit.test_provider_instructions import DIRECTORY, ENV, NOW, SUBJECT, callback, notice

ROLES = {"mailer": "service_provider", "paybridge": "service_provider", "brightlist": "third_party"}
OPERATOR = "8f14e45f-ceea-467f-a0e6-1b1b1b1b1b1b"


@dataclass
class FakeOutbox:
    published: list[Event] = field(default_factory=list)

    def add(self, conn: object, topic: str, events: list[Event]) -> None:
        self.published.extend(events)

    def of(self, event_type: str) -> list[Event]:
        return [event for event in self.published if event.event_type == event_type]


@dataclass
class World:
    engine: sa.Engine
    queue: InstructionQueue
    outbox: FakeOutbox
    recipients: Recipients
    woken: list[str]

    def enqueue(self, request_id: str = "req-1") -> dict[str, str]:
        """A job and the demo-like recipients: mailer (endpoint), brightlist (not notified), paybridge (manual)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(orm.jobs).values(request_id=request_id, subject_key=SUBJECT, operation="delete",
                                                    received_at=NOW, stage="answering", attempts=0, verifications=1,
                                                    next_attempt_at=NOW))  # fmt: skip
        with self.engine.begin() as conn:  # apart: the key store seals in a transaction of its own (SQLite locks)
            planned = self.queue.enqueue(conn, notice(request_id=request_id), ["mailer", "brightlist", "paybridge"],
                                         DIRECTORY, NOW)  # fmt: skip
        return {p.recipient: p.instruction_id for p in planned}

    def apply(self, instruction_id: str, answer: Answer) -> None:
        with self.engine.begin() as conn:
            self.queue.apply(conn, instruction_id, answer, utcnow(), "send")

    def answer_step_reports(self, request_id: str = "req-1") -> list[tuple[str, EventType]]:
        """What the answer step would put on the timeline now (and marks reported), as stages/answer.py does."""
        with self.engine.begin() as conn:
            status = status_of(self.queue.for_request(conn, request_id), ROLES)
            keyed = {(key, kind): (key, kind) for kind, key, _ in status.events}
            return unreported(conn, request_id, keyed)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path / 'deletion.db'}")
    for tables in (metadata, orm.metadata, erasure_metadata):
        tables.create_all(engine)
    outbox, woken = FakeOutbox(), []
    sealer = Sealer(KeyStore(engine, {"kek": os.urandom(32)}, "kek"))
    queue = InstructionQueue(sealer, on_confirmed=ConfirmationReporter(ROLES, outbox, "results"))  # type: ignore[arg-type]
    recipients = Recipients(engine, queue, ROLES, lambda: woken.append("worker"), lambda: woken.append("sender"))
    yield World(engine, queue, outbox, recipients, woken)
    engine.dispose()


def test_only_an_operator_confirms_a_manual_or_failed_instruction() -> None:
    assert [state for state in State if confirmable(state)] == [State.FAILED, State.MANUAL]
    assert next_state(State.MANUAL, Step.CONFIRMED) is None, "no provider can report for a recipient without endpoint"
    assert next_state(State.MANUAL, Step.ATTESTED) is State.CONFIRMED
    assert next_state(State.CONFIRMED, Step.ATTESTED) is None


def test_a_resend_requeues_a_failed_instruction_asks_a_pending_or_delivered_one_and_refuses_the_rest() -> None:
    assert resend_step(State.FAILED, holds_payload=True) is Step.REQUEUED
    assert resend_step(State.PENDING, holds_payload=True) is Step.ASKED_AGAIN
    assert resend_step(State.DELIVERED, holds_payload=False) is Step.ASKED_AGAIN
    with pytest.raises(OperatorRefused, match="no endpoint: confirm it by hand"):
        resend_step(State.MANUAL, holds_payload=False)
    with pytest.raises(OperatorRefused, match="identifiers are no longer held"):
        resend_step(State.FAILED, holds_payload=False)
    for state in (State.CONFIRMED, State.NOT_NOTIFIED):
        with pytest.raises(OperatorRefused):
            resend_step(state, holds_payload=False)


def test_a_manual_recipient_confirmed_by_hand_keeps_the_note_and_is_reported_once(world: World) -> None:
    ids = world.enqueue()
    view = world.recipients.confirm("req-1", ids["paybridge"], "Called their privacy desk; ada@example.com is gone",
                                    "PB-7731", OPERATOR)  # type: ignore[arg-type]  # fmt: skip
    assert view.state == "confirmed" and view.confirmation_id == "PB-7731" and view.confirmed_by == OPERATOR
    assert view.confirmation_note == "Called their privacy desk; [email] is gone", "no PI kept"
    assert not view.may_confirm and not view.may_resend and world.woken == ["worker"]
    assert view.attempts.count == 1 and view.attempts.last is not None
    assert (view.attempts.last.channel, view.attempts.last.step) == ("operator", "attested")
    [confirmed] = world.outbox.of("ProviderConfirmed")
    assert (confirmed.request_id, confirmed.subject_key) == ("req-1", SUBJECT)
    assert (confirmed.payload.instruction_id, confirmed.payload.confirmation_id) == (ids["paybridge"], "PB-7731")
    [instructed] = world.outbox.of("ProviderInstructed")
    assert instructed.payload.recipient == "paybridge"
    with pytest.raises(OperatorRefused, match="already confirmed"):
        world.recipients.confirm("req-1", ids["paybridge"], "a second time", None, None)
    assert len(world.outbox.published) == 2
    reported = world.answer_step_reports()
    assert (ids["paybridge"], EventType.PROVIDER_INSTRUCTED) not in reported
    assert (f"{ids['paybridge']}#confirmed", EventType.PROVIDER_CONFIRMED) not in reported, "reported once"
    assert (ids["brightlist"], EventType.PROVIDER_INSTRUCTED) in reported


def test_an_instruction_with_an_endpoint_or_not_notified_is_not_confirmed_by_hand(world: World) -> None:
    ids = world.enqueue()
    for recipient, why in (("mailer", "comes from the recipient"), ("brightlist", "not notified")):
        with pytest.raises(OperatorRefused, match=why):
            world.recipients.confirm("req-1", ids[recipient], "they said so", None, None)
    assert world.outbox.published == []


def test_a_failed_instruction_reached_by_other_means_is_confirmed_by_hand(world: World) -> None:
    ids = world.enqueue()
    world.apply(ids["mailer"], Answer(Step.FAILED, detail="HTTP 422: unknown field", status_code=422))
    assert world.recipients.confirm("req-1", ids["mailer"], "Deleted by their support", None, None).state == "confirmed"
    assert [e.payload.instruction_id for e in world.outbox.of("ProviderConfirmed")] == [ids["mailer"]]


def test_a_callback_after_the_answer_still_reaches_the_timeline_once(world: World) -> None:
    ids = world.enqueue()
    world.apply(ids["mailer"], Answer(Step.DELIVERED, "del_1", "HTTP 202", 202))
    assert (ids["mailer"], EventType.PROVIDER_INSTRUCTED) in world.answer_step_reports()  # answered: mailer pending
    handler = CallbackHandler(world.engine, world.queue, DIRECTORY, ENV)
    assert callback(ids["mailer"])(handler) == (200, "confirmed")
    assert [(e.event_type, e.payload.instruction_id) for e in world.outbox.published] == [
        (EventType.PROVIDER_CONFIRMED, ids["mailer"])]  # fmt: skip
    assert world.answer_step_reports() == [], "the answer step does not report it again"


def test_a_resend_makes_the_attempt_or_the_poll_due_now_and_is_recorded(world: World) -> None:
    ids = world.enqueue()
    world.apply(ids["mailer"], Answer(Step.FAILED, detail="HTTP 401: bad token", status_code=401))
    view = world.recipients.resend("req-1", ids["mailer"], "token rotated; call 415-867-5309 if it fails")
    assert view.state == "pending" and world.woken == ["sender"]
    assert view.attempts.last is not None and view.attempts.last.step == "requeued"
    assert "867-5309" not in view.attempts.last.detail and "re-sent by an operator" in view.attempts.last.detail
    world.apply(ids["mailer"], Answer(Step.DELIVERED, None, "HTTP 202", 202))
    world.recipients.resend("req-1", ids["mailer"], "no confirmation yet, ask now")
    with world.engine.connect() as conn:
        due = conn.execute(sa.select(world.queue.table.c.next_poll_at)
                           .where(world.queue.table.c.instruction_id == ids["mailer"])).scalar_one()  # fmt: skip
    assert due <= utcnow() and due >= utcnow() - timedelta(minutes=1)
    with pytest.raises(OperatorRefused, match="no endpoint"):
        world.recipients.resend("req-1", ids["paybridge"], "try again")


def test_a_request_or_instruction_deletion_does_not_know_is_named_as_such(world: World) -> None:
    ids = world.enqueue()
    other = world.enqueue("req-2")
    with pytest.raises(RequestNotKnown):
        world.recipients.of_request("req-3")
    with pytest.raises(InstructionNotKnown):
        world.recipients.confirm("req-1", other["paybridge"], "wrong request", None, None)
    listed = world.recipients.of_request("req-1")
    assert listed.stage == "answering"
    assert {(r.recipient, r.state, r.may_confirm, r.may_resend) for r in listed.recipients} == {
        ("brightlist", "not_notified", False, False), ("mailer", "pending", False, True),
        ("paybridge", "manual", True, False)}  # fmt: skip
    manual = next(r for r in listed.recipients if r.recipient == "paybridge")
    assert manual.reason and "instruct it by other means" in manual.reason and manual.instruction_id == ids["paybridge"]


def test_active_holds_are_listed_by_subject_or_store_with_who_placed_them(world: World) -> None:
    holds = LegalHolds(world.engine)
    subject = holds.place("Matter 2026-14", subject_key=SUBJECT, placed_by=OPERATOR)
    store = holds.place("Audit of the web logs", store="web-logs")
    assert (subject.scope, store.scope) == ("subject", "store")
    assert [h.hold_id for h in holds.active(subject_key=SUBJECT)] == [subject.hold_id]
    assert holds.active(subject_key=SUBJECT)[0].placed_by == OPERATOR
    assert [h.hold_id for h in holds.active(store="web-logs")] == [store.hold_id]
    assert holds.release(subject.hold_id) and not holds.release(subject.hold_id)
    assert [h.hold_id for h in holds.active()] == [store.hold_id]
