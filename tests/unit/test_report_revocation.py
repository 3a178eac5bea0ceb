"""What a completed deletion ends: which reports it revokes, when the data key may be shredded, what discovery
destroys and records (on SQLite, the services' local database)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.crypto import KeyShredded, KeyStore, Sealer
from services.common.datamap import DataMap
from services.common.db import make_engine
from services.common.event_types import EventType
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.payloads.requests import RequestCompletedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import TopicNames
from services.discovery import orm as discovery_orm
from services.discovery.destruction import ReportDestruction, destroys_reports, group_by_request
from services.intake import orm as intake_orm
from services.intake.revocation import CompletedDeletion, SubjectKeys, may_shred, record_deletion, revoked_at
from services.optout import orm as optout_orm
from services.optout.handlers import OptoutHandlers
from services.optout.systems import SystemsOfRecord
from tests.fields import event_of

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SUBJECT = "a" * 64
NO_SYSTEMS = DataMap(business="Acme", stores=())  # no system of record to flag


def deletion(undelivered: tuple[str, ...] = (), verified: bool = True, at: datetime = T0) -> CompletedDeletion:
    return CompletedDeletion("delete-1", at, undelivered, verified)


def test_a_report_ready_before_a_completed_deletion_is_revoked_by_it() -> None:
    assert revoked_at(T0 - timedelta(days=3), [T0]) == T0


def test_the_first_later_deletion_revokes_and_a_report_built_after_the_deletion_stands() -> None:
    later = T0 + timedelta(days=10)
    assert revoked_at(T0 - timedelta(days=1), [later, T0]) == T0
    assert revoked_at(T0 + timedelta(days=1), [T0]) is None
    assert revoked_at(T0, []) is None


def test_the_key_is_shredded_once_a_deletion_completed_and_nothing_is_open() -> None:
    assert may_shred([deletion()], open_requests=0)


def test_an_open_request_of_the_subject_holds_the_shred_back() -> None:
    assert not may_shred([deletion()], open_requests=1)


def test_an_undelivered_provider_instruction_holds_the_shred_back() -> None:
    assert not may_shred([deletion(undelivered=("shipper",))], open_requests=0)


def test_no_completed_deletion_means_no_shred() -> None:
    assert not may_shred([], open_requests=0)


def test_a_report_built_after_the_deletion_and_still_live_holds_the_shred_back() -> None:
    assert not may_shred([deletion()], open_requests=0, standing_reports=1)


def test_an_unverified_deletion_holds_the_shred_back_until_a_later_one_is_verified() -> None:
    unverified = deletion(verified=False)
    assert not may_shred([unverified], open_requests=0)  # its re-walk still found records: they may need erasing
    assert may_shred([unverified, deletion(at=T0 + timedelta(days=1))], open_requests=0)
    assert not may_shred([deletion(), deletion(verified=False, at=T0 + timedelta(days=1))], open_requests=0)


def completed(operation: str = "delete", at: datetime = T0, **payload: Any) -> Event:
    body = {"operation": operation, "verified": True, "stores": [], "undelivered": [], **payload}
    return event_of("DeletionCompleted", SUBJECT, "deletion", body, request_id="delete-1", occurred_at=at)


def test_only_a_completed_delete_destroys_reports() -> None:
    assert destroys_reports(completed("delete"))
    assert not destroys_reports(completed("correct"))
    completed_request = Event(
        EventType.REQUEST_COMPLETED, SUBJECT, "deletion", RequestCompletedPayload(outcome="complied", summary="")
    )
    assert not destroys_reports(completed_request)


def test_destroyed_renderings_are_grouped_per_request() -> None:
    rows = [SimpleNamespace(request_id="b", format="json", size_bytes=10),
            SimpleNamespace(request_id="a", format="html", size_bytes=5),
            SimpleNamespace(request_id="a", format="csv", size_bytes=7)]  # fmt: skip
    grouped = group_by_request(rows)
    assert [(d.request_id, d.formats, d.bytes) for d in grouped] == [("a", ("csv", "html"), 12), ("b", ("json",), 10)]


@pytest.fixture
def discovery_db() -> sa.Engine:
    engine = make_engine("sqlite://")
    discovery_orm.metadata.create_all(engine)
    return engine


def report_row(request_id: str, fmt: str, created_at: datetime, subject_key: str = SUBJECT) -> dict[str, Any]:
    return {"request_id": request_id, "format": fmt, "subject_key": subject_key, "sealed": {"key_id": "k"},
            "media_type": "application/json", "filename": f"report.{fmt}", "sha256": "0" * 64, "size_bytes": 100,
            "created_at": created_at, "expires_at": created_at + timedelta(days=7)}  # fmt: skip


def run_row(request_id: str, status: str) -> dict[str, Any]:
    return {"request_id": request_id, "subject_key": SUBJECT, "request_type": "know_specific",
            "identifiers_sealed": {"key_id": "k", "nonce": "", "ciphertext": "secret"}, "received_at": T0,
            "status": status, "attempts": 1, "next_attempt_at": T0, "started_at": T0}  # fmt: skip


def test_discovery_destroys_the_subjects_earlier_reports_and_keeps_a_record_without_content(
    discovery_db: sa.Engine,
) -> None:
    with discovery_db.begin() as conn:
        conn.execute(sa.insert(discovery_orm.reports), [
            report_row("know-1", "json", T0 - timedelta(days=2)), report_row("know-1", "html", T0 - timedelta(days=2)),
            report_row("know-later", "json", T0 + timedelta(hours=1)),
            report_row("other", "json", T0 - timedelta(days=2), subject_key="b" * 64),
        ])  # fmt: skip
        conn.execute(sa.insert(discovery_orm.runs), [run_row("know-1", "complete"), run_row("know-open", "pending")])
        events = ReportDestruction().destroy(conn, completed())
        left = set(conn.execute(sa.select(discovery_orm.reports.c.request_id)).scalars())
        record = conn.execute(sa.select(discovery_orm.destroyed_reports)).all()
        runs = {row.request_id: row.identifiers_sealed for row in conn.execute(sa.select(discovery_orm.runs))}
    assert left == {"know-later", "other"}  # a report built after the deletion, and another subject's, stay
    assert {(row.request_id, row.format, row.deletion_request_id) for row in record} == {
        ("know-1", "json", "delete-1"), ("know-1", "html", "delete-1")}  # fmt: skip
    assert runs["know-1"] == {} and runs["know-open"]["ciphertext"] == "secret"  # an open run keeps its identifiers
    [event] = events
    assert (event.event_type, event.request_id, event.payload.formats) == ("ReportDestroyed", "know-1",
                                                                           ("html", "json"))  # fmt: skip
    assert event.occurred_at > T0


@pytest.fixture
def intake_db() -> sa.Engine:
    engine = make_engine("sqlite://")
    intake_orm.metadata.create_all(engine)
    return engine


class FakeShredder:
    def __init__(self) -> None:
        self.shredded: list[str] = []

    def shred_subject_keys(self, subject_key: str) -> list[str]:
        self.shredded.append(subject_key)
        return ["dk-1"]


def subject_keys(shredder: FakeShredder) -> SubjectKeys:
    return SubjectKeys(shredder, Outbox(intake_orm.outbox, SingleObjectCodec()), TopicNames(""))


def shred_events(conn: sa.Connection) -> list[Event]:
    codec = SingleObjectCodec()
    return [codec.decode(row.message_value) for row in conn.execute(sa.select(intake_orm.outbox).order_by("id"))]


def request_row(request_id: str, status: str, request_type: str = "know_specific") -> dict[str, Any]:
    return {"request_id": request_id, "subject_key": SUBJECT, "request_type": request_type,
            "requested_type": request_type, "channel": "web_form", "status": status, "received_at": T0,
            "respond_by": T0 + timedelta(days=45), "identifiers_sealed": {}, "identifier_kinds": ["email"],
            "verification_required": "reasonably_high", "verification_achieved": "reasonably_high",
            "verification_outcome": "verified", "authorized_agent": False, "gpc": False}  # fmt: skip


def test_intake_shreds_when_the_last_open_request_of_a_deleted_subject_is_answered(intake_db: sa.Engine) -> None:
    shredder = FakeShredder()
    keys = subject_keys(shredder)
    with intake_db.begin() as conn:
        conn.execute(sa.insert(intake_orm.requests), [request_row("delete-1", "completed", "delete"),
                                                      request_row("know-2", "acknowledged")])  # fmt: skip
        record_deletion(conn, completed())
        record_deletion(conn, completed())  # a redelivery changes nothing
        assert not keys.settle(conn, SUBJECT) and shredder.shredded == []  # know-2 still needs the identifiers
        conn.execute(sa.update(intake_orm.requests).values(status="completed"))
        assert keys.settle(conn, SUBJECT) and shredder.shredded == [SUBJECT]
        assert not keys.settle(conn, SUBJECT)  # settled once: a later answer does not shred the new key
        [row] = conn.execute(sa.select(intake_orm.completed_deletions)).all()
    assert row.key_shredded_at is not None


def test_intake_keeps_the_key_while_a_provider_instruction_is_undelivered(intake_db: sa.Engine) -> None:
    shredder = FakeShredder()
    with intake_db.begin() as conn:
        conn.execute(sa.insert(intake_orm.requests), [request_row("delete-1", "completed", "delete")])
        record_deletion(conn, completed(undelivered=["shipper"]))
        assert not subject_keys(shredder).settle(conn, SUBJECT)
    assert shredder.shredded == []


def test_intake_keeps_the_key_when_the_deletion_was_answered_unverified(intake_db: sa.Engine) -> None:
    shredder = FakeShredder()
    with intake_db.begin() as conn:
        conn.execute(sa.insert(intake_orm.requests), [request_row("delete-1", "completed", "delete")])
        record_deletion(conn, completed(verified=False))
        assert not subject_keys(shredder).settle(conn, SUBJECT)
    assert shredder.shredded == []


def test_the_shred_puts_keys_shredded_on_each_concluded_deletions_timeline(intake_db: sa.Engine) -> None:
    later = event_of("DeletionCompleted", SUBJECT, "deletion",
                     {"operation": "delete", "verified": True, "stores": [], "undelivered": []},
                     request_id="delete-2", occurred_at=T0 + timedelta(hours=1))  # fmt: skip
    with intake_db.begin() as conn:
        conn.execute(sa.insert(intake_orm.requests), [request_row("delete-1", "completed", "delete"),
                                                      request_row("delete-2", "completed", "delete")])  # fmt: skip
        record_deletion(conn, completed())
        record_deletion(conn, later)
        assert subject_keys(FakeShredder()).settle(conn, SUBJECT)
        events = shred_events(conn)
    assert [(e.event_type, e.request_id, e.subject_key) for e in events] == [
        ("KeysShredded", "delete-1", SUBJECT), ("KeysShredded", "delete-2", SUBJECT)]  # fmt: skip
    payload = events[0].payload
    assert (payload.keys, payload.key_ids, payload.deletion_request_ids, payload.trigger, payload.operator) == (
        1, ("dk-1",), ("delete-1", "delete-2"), "deletion_completed", None)  # fmt: skip


def test_after_the_shred_a_new_request_of_the_subject_is_sealed_under_a_new_key() -> None:
    keystore = KeyStore(make_engine("sqlite://"), {"m1": os.urandom(32)}, "m1")
    sealer = Sealer(keystore)
    old = sealer.seal({"email": "a@example.com"}, SUBJECT, "r1")
    assert keystore.shred_subject(SUBJECT) == 1
    new = sealer.seal({"email": "a@example.com"}, SUBJECT, "r2")
    assert new.key_id != old.key_id
    assert sealer.open(new, SUBJECT, "r2") == {"email": "a@example.com"}
    with pytest.raises(KeyShredded):
        sealer.open(old, SUBJECT, "r1")


def test_optout_forgets_identifiers_whose_key_a_deletion_shredded() -> None:
    keystore = KeyStore(make_engine("sqlite://"), {"m1": os.urandom(32)}, "m1")
    sealer = Sealer(keystore)
    engine = make_engine("sqlite://")
    optout_orm.metadata.create_all(engine)
    handlers = OptoutHandlers(Outbox(optout_orm.outbox, SingleObjectCodec()), TopicNames(""), sealer,
                              SystemsOfRecord(NO_SYSTEMS), [])  # fmt: skip
    sealed = sealer.seal({"email": "a@example.com"}, SUBJECT, "r1").to_json()
    with engine.begin() as conn:
        row = {"subject_key": SUBJECT, "request_id": "r1", "sealed": sealed}
        conn.execute(sa.insert(optout_orm.known_identifiers).values(row))
        assert handlers._identifiers(conn, SUBJECT) == {"email": "a@example.com"}
        keystore.shred_subject(SUBJECT)
        assert handlers._identifiers(conn, SUBJECT) == {}  # a later consent change of the subject is not refused
        assert conn.execute(sa.select(optout_orm.known_identifiers)).first() is None


def report_ready(request_id: str, ready_at: datetime, expires_at: datetime) -> dict[str, Any]:
    return {"request_id": request_id, "request_type": "know_specific", "formats": ["json"], "records": 1,
            "period_start": T0.date(), "period_end": T0.date(), "sha256": "0" * 64, "ready_at": ready_at,
            "expires_at": expires_at}  # fmt: skip


def test_a_live_report_after_the_deletion_keeps_the_key_until_it_expires_and_the_sweep_then_shreds(
    intake_db: sa.Engine,
) -> None:
    """A know request open during the deletion gets its report afterwards: shredding with its answer would make the
    report, promised to the consumer until it expires, unreadable. Its expiry is no event, so the sweep settles."""
    shredder = FakeShredder()
    keys = subject_keys(shredder)
    now = datetime.now(UTC)
    with intake_db.begin() as conn:
        conn.execute(sa.insert(intake_orm.requests), [request_row("delete-1", "completed", "delete"),
                                                      request_row("know-1", "completed"),
                                                      request_row("know-0", "completed")])  # fmt: skip
        live = now + timedelta(days=1)
        conn.execute(sa.insert(intake_orm.reports), [report_ready("know-1", T0 + timedelta(hours=1), live),
                                                     report_ready("know-0", T0 - timedelta(days=1), live)])  # fmt: skip
        record_deletion(conn, completed())
        assert not keys.settle(conn, SUBJECT)  # know-0's report the deletion revoked holds nothing; know-1's does
    assert keys.settle_pending(intake_db) == 0 and shredder.shredded == []
    with intake_db.begin() as conn:
        conn.execute(sa.update(intake_orm.reports).where(intake_orm.reports.c.request_id == "know-1")
                     .values(expires_at=now - timedelta(seconds=1)))  # fmt: skip
    assert keys.settle_pending(intake_db) == 1 and shredder.shredded == [SUBJECT]
    with intake_db.connect() as conn:
        assert [e.request_id for e in shred_events(conn)] == ["delete-1"]
    assert keys.settle_pending(intake_db) == 0  # settled once
