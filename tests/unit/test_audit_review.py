"""Review before send in audit's §7101 record (SQLite): each event sets its own facts, the response is derived from
all of them, so every order of the events gives the same rows; a held answer is no answer (its clock keeps running);
the recipients' instructions; the console's OperatorActed on the timeline."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import consent, handlers, orm, queries, recipients, records, tallies
from services.audit.responses import REVIEW_DENIAL_CODE, AnswerFacts, Response, response_of
from services.audit.watch import DeadlineWatch
from services.common.clocks import deadlines_for
from services.common.consumer import Delivery
from services.common.contracts import NO_SUBJECT
from services.common.db import make_engine
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.request_types import RequestType
from services.common.serde import SingleObjectCodec
from tests.fields import event_of
from tests.unit.test_audit_handlers import submitted_payload

REQUEST_ID = "44444444-4444-4444-8444-444444444444"
SUBJECT = "f6" * 32
REVIEWER = "0b0b0b0b-0000-4000-8000-000000000001"
RECEIVED = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
DUE = deadlines_for(RequestType.KNOW_SPECIFIC, RECEIVED).respond_by
DONE, DECIDED = RECEIVED + timedelta(days=20), RECEIVED + timedelta(days=22)
OFFSETS = itertools.count()
TOPIC_OF = {"RequestCompleted": "privacy.discovery.results", "OperatorActed": "privacy.operator.actions",
            "ProviderInstructed": "privacy.deletion.results", "ProviderConfirmed": "privacy.deletion.results",
            "ProviderOverdue": "privacy.deletion.results"}  # fmt: skip


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    yield fresh(tmp_path / "audit.db")


def fresh(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    orm.metadata.create_all(engine)
    return engine


def event(n: int, event_type: str, occurred_at: datetime, payload: dict[str, Any], producer: str = "intake",
          request_id: str | None = REQUEST_ID, subject: str = SUBJECT) -> Event:  # fmt: skip
    return event_of(event_type, subject, producer, payload, request_id=request_id, occurred_at=occurred_at,
                    event_id=f"e0000000-0000-4000-8000-{n:012d}")  # fmt: skip


def submitted(review: bool = True) -> Event:
    payload = submitted_payload("know_specific", RECEIVED, DUE, corrections=False) | {"review_before_send": review}
    return event(1, "RequestSubmitted", RECEIVED, payload)


def completed(at: datetime = DONE) -> Event:
    return event(2, "RequestCompleted", at, {"outcome": "complied", "summary": "your report"}, producer="discovery")


def reviewed(verdict: str, at: datetime = DECIDED, reason: str | None = None) -> Event:
    return event(3, "AnswerReviewed", at, {"verdict": verdict, "reviewer": REVIEWER, "reason": reason})


def consume(engine: sa.Engine, *events: Event) -> None:
    for one in events:
        with engine.begin() as conn:
            handlers.handle(one, conn, Delivery(TOPIC_OF.get(str(one.event_type), "privacy.requests"), 0,
                                                next(OFFSETS)))  # fmt: skip


def record(engine: sa.Engine) -> sa.Row[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(orm.request_records).where(orm.request_records.c.request_id == REQUEST_ID)).one()


def materialised(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """The record, the clocks and the instructions: what the order of events must not change."""
    with engine.connect() as conn:
        rows = [conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for table in (orm.request_records, orm.deadline_clocks, orm.recipient_instructions,
                              orm.queue_tallies)]  # fmt: skip
    return [tuple(row) for table_rows in rows for row in table_rows]


class TestResponseRule:
    def test_without_review_the_completion_is_the_response(self) -> None:
        assert response_of(AnswerFacts(False, DONE, "complied")) == Response(DONE, "complied")

    def test_a_held_answer_is_no_response_and_awaits_review(self) -> None:
        held = response_of(AnswerFacts(True, DONE, "complied"))
        assert held == Response(awaiting_review=True) and not held.answered

    def test_an_approval_answers_on_its_own_date(self) -> None:
        facts = AnswerFacts(True, DONE, "complied", review_state="approved", reviewed_at=DECIDED)
        assert response_of(facts) == Response(DECIDED, "complied")

    def test_a_reviewers_denial_is_a_denial_with_the_reason_as_basis(self) -> None:
        facts = AnswerFacts(True, DONE, "complied", review_state="denied", reviewed_at=DECIDED, review_reason="why")
        assert response_of(facts) == Response(DECIDED, "denied", REVIEW_DENIAL_CODE, "why")

    def test_an_approval_without_the_work_waits_for_it(self) -> None:
        assert response_of(AnswerFacts(True, review_state="approved", reviewed_at=DECIDED)) == Response()

    def test_a_denial_is_an_answer_under_review_too_and_the_later_answer_wins(self) -> None:
        denied = AnswerFacts(True, denied_at=DONE, denied_nature="denied", denied_code="not_verified")
        assert response_of(denied).responded_at == DONE
        both = AnswerFacts(False, DECIDED, "complied", denied_at=DONE, denied_nature="denied")
        assert response_of(both).response_nature == "complied"


class TestReviewInTheRecord:
    def test_the_held_answer_leaves_the_request_open_and_awaiting_review(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed())
        row = record(engine)
        assert (row.review_required, row.completed_at, row.responded_at) == (True, DONE, None)
        assert (row.answered, row.awaiting_review, row.due_at) == (False, True, DUE)
        with engine.connect() as conn:
            assert [item["date_of_response"] for item in records.every_record(conn, records.RecordQuery())] == [None]

    def test_the_approval_is_the_date_of_response(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed(), reviewed("approved"))
        row = record(engine)
        assert (row.responded_at, row.response_nature, row.answered, row.awaiting_review) == (
            DECIDED, "complied", True, False)  # fmt: skip
        view = queries.timeline(engine, REQUEST_ID)
        assert view is not None and view["subject_key"] == SUBJECT
        assert view["record"]["review_state"] == "approved" and view["record"]["completed_at"] == DONE.isoformat()

    def test_a_denial_on_review_denies_with_the_reason(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed(), reviewed("denied", reason="the report names another person"))
        row = record(engine)
        assert (row.responded_at, row.response_nature, row.denial_code, row.denial_basis) == (
            DECIDED, "denied", REVIEW_DENIAL_CODE, "the report names another person")  # fmt: skip

    @pytest.mark.parametrize("verdict", ["approved", "denied"])
    def test_every_order_of_the_events_gives_the_same_rows(self, tmp_path: Path, verdict: str) -> None:
        events = [submitted(), completed(), reviewed(verdict, reason="a reason")]
        seen = set()
        for number, order in enumerate(itertools.permutations(events)):
            engine = fresh(tmp_path / f"{verdict}-{number}.db")
            consume(engine, *order)
            seen.add(repr(materialised(engine)))
            engine.dispose()
        assert len(seen) == 1

    def test_the_answered_tally_follows_the_record_through_a_held_answer(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed())
        with engine.connect() as conn:
            assert tallies.answered(conn, None, None) == 0
        consume(engine, reviewed("approved"))
        with engine.connect() as conn:
            assert tallies.answered(conn, ["know_specific"], "web_form") == 1
            assert tallies.answered(conn, ["delete"], None) == 0

    def test_without_review_the_completion_answers_in_any_order(self, tmp_path: Path) -> None:
        seen = set()
        for number, order in enumerate(itertools.permutations([submitted(review=False), completed()])):
            engine = fresh(tmp_path / f"plain-{number}.db")
            consume(engine, *order)
            assert record(engine).responded_at == DONE
            seen.add(repr(materialised(engine)))
            engine.dispose()
        assert len(seen) == 1


class TestTheClockOfAHeldAnswer:
    @staticmethod
    def missed(engine: sa.Engine) -> list[str]:
        codec = SingleObjectCodec()
        watch = DeadlineWatch(engine, Outbox(orm.outbox, codec), "privacy.deadlines", timedelta(days=7), 60.0)
        watch.tick(DUE + timedelta(days=2))
        with engine.connect() as conn:
            values = conn.execute(sa.select(orm.outbox.c.message_value)).scalars().all()
        announced = [codec.decode(value) for value in values]
        return [e.payload.clock for e in announced if e.event_type == "DeadlineMissed"]  # type: ignore[attr-defined]

    def test_a_held_answer_past_due_is_missed(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed())
        assert "respond" in self.missed(engine)

    def test_an_approval_before_the_due_date_is_on_time(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed(), reviewed("approved"))
        assert self.missed(engine) == []

    def test_an_approval_after_the_due_date_is_late(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed(), reviewed("approved", at=DUE + timedelta(days=1)))
        assert "respond" in self.missed(engine)


def instructed(n: int, instruction: str, outcome: str, recipient: str = "Mailer Inc") -> Event:
    payload = {
        "recipient": recipient,
        "role": "service_provider",
        "operation": "delete",
        "instruction_id": instruction,
        "outcome": outcome,
        "confirm_by": RECEIVED + timedelta(days=10),
    }
    return event(n, "ProviderInstructed", RECEIVED + timedelta(hours=n), payload, producer="deletion")


def confirmed(n: int, instruction: str, recipient: str = "Mailer Inc") -> Event:
    payload = {"recipient": recipient, "instruction_id": instruction, "confirmation_id": None}
    return event(n, "ProviderConfirmed", RECEIVED + timedelta(days=2, hours=n), payload, producer="deletion")


def overdue(n: int, instruction: str, recipient: str = "Mailer Inc") -> Event:
    payload = {"recipient": recipient, "instruction_id": instruction, "confirm_by": RECEIVED + timedelta(days=10)}
    return event(n, "ProviderOverdue", RECEIVED + timedelta(days=11, hours=n), payload, producer="deletion")


class TestRecipientsBacklog:
    def test_waiting_overdue_and_confirmed_instructions_are_counted_by_recipient(self, engine: sa.Engine) -> None:
        consume(engine, instructed(10, "i-1", "delivered"), instructed(11, "i-2", "manual", "Ledger Co"),
                instructed(12, "i-3", "failed"), instructed(13, "i-4", "not_notified"), confirmed(14, "i-1"),
                overdue(15, "i-2", "Ledger Co"))  # fmt: skip
        with engine.connect() as conn:
            assert recipients.backlog(conn) == {"awaiting": 2, "overdue": 1,
                                                "by_recipient": {"Ledger Co": 1, "Mailer Inc": 1}}  # fmt: skip

    def test_a_confirmation_before_its_instruction_gives_the_same_row(self, tmp_path: Path) -> None:
        events = [instructed(10, "i-1", "manual"), overdue(11, "i-1"), confirmed(12, "i-1")]
        seen = set()
        for number, order in enumerate(itertools.permutations(events)):
            engine = fresh(tmp_path / f"recipients-{number}.db")
            consume(engine, *order)
            with engine.connect() as conn:
                assert recipients.backlog(conn)["awaiting"] == 0
                seen.add(repr(conn.execute(sa.select(orm.recipient_instructions)).all()))
            engine.dispose()
        assert len(seen) == 1


def operator_acted(n: int, action: str, request_id: str | None, subject: str) -> Event:
    payload = {"actor_id": REVIEWER, "actor_role": "operator", "action": action, "result": "done",
               "reason": "checked the report", "target": None, "detail": None}  # fmt: skip
    return event(n, "OperatorActed", RECEIVED + timedelta(days=22, minutes=n), payload, producer="console",
                 request_id=request_id, subject=subject)  # fmt: skip


class TestOperatorActed:
    def test_an_action_on_a_request_lands_on_its_timeline_and_changes_no_record(self, engine: sa.Engine) -> None:
        consume(engine, submitted(), completed())
        before = materialised(engine)
        consume(engine, operator_acted(20, "answer_approved", REQUEST_ID, SUBJECT))
        view = queries.timeline(engine, REQUEST_ID)
        assert view is not None
        assert [entry["event_type"] for entry in view["entries"]][-1] == "OperatorActed"
        assert view["entries"][-1]["details"]["actor_id"] == REVIEWER
        assert materialised(engine) == before

    def test_an_action_about_no_consumer_breaks_neither_records_nor_consent_history(self, engine: sa.Engine) -> None:
        consume(engine, submitted(review=False), completed())
        consume(engine, operator_acted(21, "signed_in", None, NO_SUBJECT))
        assert consent.history(engine, NO_SUBJECT) is None
        with engine.connect() as conn:
            listed = records.every_record(conn, records.RecordQuery())
            entries = conn.execute(sa.select(orm.timeline).where(orm.timeline.c.subject_key == NO_SUBJECT)).all()
        assert [item["request_id"] for item in listed] == [REQUEST_ID]
        assert len(entries) == 1 and entries[0].request_id is None
