"""Unit tests of the audit materialisation: any delivery order gives one timeline and one §7101 record."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import handlers, orm, queries
from services.common.consumer import Delivery
from services.common.db import make_engine
from services.common.events import Event
from tests.fields import event_of

REQUESTS, CONSENT, FAILURES = "privacy.requests", "privacy.consent.changes", "privacy.dlq"
CORRECT_ID, DELETE_ID = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ALICE, BOB = "a1" * 32, "b2" * 32
RECEIVED_A = datetime(2026, 11, 4, 17, 30, 0, 250000, tzinfo=UTC)
RECEIVED_B = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
RESPOND_BY_A = datetime(2026, 12, 19, 7, 59, 59, 999999, tzinfo=UTC)
EXTENDED_TO_A = datetime(2027, 2, 2, 7, 59, 59, 999999, tzinfo=UTC)
RESPOND_BY_B = datetime(2026, 12, 20, 7, 59, 59, 999999, tzinfo=UTC)
SEALED_MARKERS = (b"\x00SEALED-NONCE", b"\x00SEALED-CIPHERTEXT")
RANDOM_ORDERS = 30


def sealed(tag: str) -> dict[str, Any]:
    return {"key_id": f"dk-{tag}", "nonce": SEALED_MARKERS[0], "ciphertext": SEALED_MARKERS[1] + tag.encode()}


def submitted_payload(request_type: str, received: datetime, respond_by: datetime, corrections: bool) -> dict[str, Any]:
    """The shape IntakeService._submitted_payload produces (privacy.events.RequestSubmitted.avsc)."""
    return {
        "request_type": request_type,
        "requested_type": request_type,
        "channel": "web_form",
        "received_at": received,
        "acknowledged_at": received,
        "respond_by": respond_by,
        "max_extended_respond_by": respond_by + timedelta(days=45),
        "identifier_kinds": ["email", "phone"],
        "identifiers": sealed("identifiers"),
        "corrections": sealed("corrections") if corrections else None,
        "verification_required": "reasonable",
        "verification_achieved": "reasonable",
        "verification_outcome": "verified",
        "authorized_agent": False,
        "agent_permission_verified": False,
        "gpc": not corrections,
        "date_range_start": date(2025, 1, 1) if corrections else None,
        "date_range_end": date(2025, 12, 31) if corrections else None,
        "limit_categories": [],
        "decision": "accepted",
        "acting_services": ["deletion", "discovery"],
        "agent_name": None,
        "agent_permission_reference": None,
        "declaration_signed": False,
        "declaration_signed_at": None,
        "declaration_text_version": None,
        "review_before_send": False,
        "subject_type": "consumer",
    }


def request_events(subject_key: str, request_id: str, id_prefix: str) -> Callable[..., Event]:
    """Builds one request's events; the n-th one's event id is `id_prefix` then n, padded to a UUID."""

    def event(
        n: int, event_type: str, occurred_at: datetime, payload: dict[str, Any], producer: str = "intake"
    ) -> Event:
        event_id = f"{id_prefix}0000000-0000-4000-8000-{n:012d}"
        return event_of(event_type, subject_key, producer, request_id=request_id, occurred_at=occurred_at,
                        event_id=event_id, payload=payload)  # fmt: skip

    return event


def stream() -> list[tuple[Event, Delivery]]:
    """Two requests' events as audit receives them, each with the place it was read from."""
    alice, bob = request_events(ALICE, CORRECT_ID, "a"), request_events(BOB, DELETE_ID, "b")
    correct = [
        alice(
            1, "RequestSubmitted", RECEIVED_A, submitted_payload("correct", RECEIVED_A, RESPOND_BY_A, corrections=True)
        ),
        alice(
            2,
            "RequestExtended",
            RECEIVED_A + timedelta(days=30),
            {
                "previous_respond_by": RESPOND_BY_A,
                "respond_by": EXTENDED_TO_A,
                "reason": "records held by two processors",
            },
        ),
        alice(
            3,
            "RequestDenied",
            RECEIVED_A + timedelta(days=60),
            {"denial_code": "exempt", "basis": "the record is retained under a legal obligation", "in_part": True},
        ),
        alice(
            4,
            "RequestFailed",
            RECEIVED_A + timedelta(hours=1),
            {
                "failed_event_id": "a0000000-0000-4000-8000-000000000001",
                "failed_event_type": "RequestSubmitted",
                "source_topic": REQUESTS,
                "source_partition": 3,
                "source_offset": 41,
                "consumer_group": "deletion",
                "error_class": "DecodeError",
                "error": "body does not decode",
                "attempts": 1,
            },
            producer="deletion",
        ),
    ]
    tie = RECEIVED_B + timedelta(microseconds=1)
    delete = [
        bob(
            1, "RequestSubmitted", RECEIVED_B, submitted_payload("delete", RECEIVED_B, RESPOND_BY_B, corrections=False)
        ),
        bob(
            2,
            "RequestDenied",
            tie,
            {"denial_code": "not_verified", "basis": "we could not verify your identity", "in_part": False},
        ),
        bob(
            3,
            "ConsentChanged",
            tie,
            {
                "source": "gpc",
                "scope": "consumer",
                "device_key": None,
                "sale_opt_out": True,
                "share_opt_out": True,
                "limit_sensitive": [],
                "effective_at": RECEIVED_B,
                "signal": "Sec-GPC: 1",
            },
        ),
    ]
    device_signal = event_of(
        "ConsentChanged",
        "c3" * 32,
        "product",
        occurred_at=RECEIVED_B,
        event_id="c0000000-0000-4000-8000-000000000001",
        payload={
            "source": "gpc",
            "scope": "device",
            "device_key": "d4" * 32,
            "sale_opt_out": True,
            "share_opt_out": None,
            "limit_sensitive": ["precise_geolocation"],
            "effective_at": RECEIVED_B,
            "signal": "Sec-GPC: 1",
        },
    )
    placed = {REQUESTS: itertools.count(100), CONSENT: itertools.count(7), FAILURES: itertools.count(0)}
    topic_of = {"ConsentChanged": CONSENT, "RequestFailed": FAILURES}
    deliveries = []
    for event in [*correct, *delete, device_signal]:
        topic = topic_of.get(event.event_type, REQUESTS)
        partition = 0 if event.subject_key == ALICE else 1
        deliveries.append((event, Delivery(topic, partition, next(placed[topic]))))
    return deliveries


STREAM = stream()


@pytest.fixture
def audit_db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = fresh_engine(tmp_path / "audit.db")
    yield engine
    engine.dispose()


def fresh_engine(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    orm.metadata.create_all(engine)
    return engine


def apply(engine: sa.Engine, deliveries: list[tuple[Event, Delivery]]) -> None:
    for event, delivery in deliveries:
        with engine.begin() as conn:  # one transaction per message, as the consumer does
            handlers.handle(event, conn, delivery)


def rebuilt_in_order(tmp_path: Path, name: str, deliveries: list[tuple[Event, Delivery]]) -> list[Any]:
    engine = fresh_engine(tmp_path / f"{name}.db")
    try:
        apply(engine, deliveries)
        return queries.snapshot(engine)
    finally:
        engine.dispose()


def iso(instant: datetime) -> str:
    return instant.isoformat()


class TestDeterministicRebuild:
    def test_every_order_gives_the_same_snapshot(self, tmp_path: Path) -> None:
        expected = rebuilt_in_order(tmp_path, "natural", STREAM)
        assert len(expected) == len(STREAM) + 2  # every entry, plus the two §7101 records
        rng = random.Random(20261104)
        orders = [list(reversed(STREAM))] + [rng.sample(STREAM, len(STREAM)) for _ in range(RANDOM_ORDERS)]
        for number, order in enumerate(orders):
            assert rebuilt_in_order(tmp_path, f"order-{number}", order) == expected, [
                event.event_type for event, _ in order
            ]

    def test_every_order_of_one_requests_record_events(self, tmp_path: Path) -> None:
        # All 24 orders of the four events that share the correct request's §7101 row.
        alice = [pair for pair in STREAM if pair[0].subject_key == ALICE]
        snapshots = {
            json.dumps(rebuilt_in_order(tmp_path, f"perm-{n}", list(order)), default=str)
            for n, order in enumerate(itertools.permutations(alice))
        }
        assert len(snapshots) == 1

    def test_denial_before_submission_still_fills_the_record(self, audit_db: sa.Engine) -> None:
        by_type = {event.event_type: (event, d) for event, d in STREAM if event.request_id == DELETE_ID}
        apply(audit_db, [by_type["RequestDenied"], by_type["RequestSubmitted"]])
        view = queries.timeline(audit_db, DELETE_ID)
        assert view is not None
        record = view["record"]
        assert record["nature_of_response"] == "denied"
        assert record["nature"] == "delete"


class TestRequestRecord:
    @pytest.fixture
    def rebuilt(self, audit_db: sa.Engine) -> sa.Engine:
        apply(audit_db, STREAM)
        return audit_db

    def test_extended_and_partly_denied_request(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, CORRECT_ID)
        assert view is not None
        assert view["record"] == {
            "date_received": iso(RECEIVED_A),
            "nature": "correct",
            "requested_nature": "correct",
            "manner": "web_form",
            "due_at": iso(EXTENDED_TO_A),
            "extended_at": iso(RECEIVED_A + timedelta(days=30)),
            "date_of_response": iso(RECEIVED_A + timedelta(days=60)),
            "nature_of_response": "denied_in_part",
            "basis_for_denial": "the record is retained under a legal obligation",
            "denial_code": "exempt",
            "review_required": False,
            "review_state": None,
            "reviewed_at": None,
            "completed_at": None,
        }

    def test_unextended_denied_request_is_due_on_the_original_date(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, DELETE_ID)
        assert view is not None
        record = view["record"]
        assert record["due_at"] == iso(RESPOND_BY_B)
        assert record["extended_at"] is None
        assert record["date_received"] == iso(RECEIVED_B)
        assert (record["nature_of_response"], record["denial_code"]) == ("denied", "not_verified")
        assert record["basis_for_denial"] == "we could not verify your identity"

    def test_event_without_request_gets_no_record(self, rebuilt: sa.Engine) -> None:
        with rebuilt.connect() as conn:
            request_ids = conn.execute(sa.select(orm.request_records.c.request_id)).scalars().all()
            entries = conn.execute(sa.select(sa.func.count()).select_from(orm.timeline)).scalar_one()
        assert sorted(request_ids) == sorted([CORRECT_ID, DELETE_ID])
        assert entries == len(STREAM)

    def test_unknown_request(self, rebuilt: sa.Engine) -> None:
        assert queries.timeline(rebuilt, "99999999-9999-4999-8999-999999999999") is None


class TestTimeline:
    @pytest.fixture
    def rebuilt(self, audit_db: sa.Engine) -> sa.Engine:
        apply(audit_db, list(reversed(STREAM)))
        return audit_db

    def test_entries_in_occurrence_order(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, CORRECT_ID)
        assert view is not None
        assert [entry["event_type"] for entry in view["entries"]] == [
            "RequestSubmitted",
            "RequestFailed",
            "RequestExtended",
            "RequestDenied",
        ]
        instants = [datetime.fromisoformat(entry["occurred_at"]) for entry in view["entries"]]
        assert instants == sorted(instants)
        assert all(instant.tzinfo is not None for instant in instants)

    def test_ties_are_ordered_by_source_position(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, DELETE_ID)
        assert view is not None
        entries = view["entries"]
        assert [entry["event_type"] for entry in entries] == [
            "RequestSubmitted",
            "ConsentChanged",
            "RequestDenied",
        ]
        assert entries[1]["occurred_at"] == entries[2]["occurred_at"]
        assert entries[1]["source"] == {"topic": CONSENT, "partition": 1, "offset": 7}

    def test_entry_carries_provenance(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, CORRECT_ID)
        assert view is not None
        failed = next(entry for entry in view["entries"] if entry["event_type"] == "RequestFailed")
        assert failed["producer"] == "deletion"
        assert failed["source"] == {"topic": FAILURES, "partition": 0, "offset": 0}
        assert failed["event_id"] == "a0000000-0000-4000-8000-000000000004"
        assert failed["details"]["source_offset"] == 41

    def test_submitted_details_are_public_and_json_ready(self, rebuilt: sa.Engine) -> None:
        view = queries.timeline(rebuilt, CORRECT_ID)
        assert view is not None
        details = view["entries"][0]["details"]
        expected = dict(submitted_payload("correct", RECEIVED_A, RESPOND_BY_A, corrections=True))
        del expected["identifiers"], expected["corrections"]
        for key in (
            "received_at",
            "acknowledged_at",
            "respond_by",
            "max_extended_respond_by",
            "date_range_start",
            "date_range_end",
        ):
            expected[key] = expected[key].isoformat()
        assert details == expected

    def test_sealed_fields_never_reach_details(self, rebuilt: sa.Engine) -> None:
        with rebuilt.connect() as conn:
            stored = conn.execute(sa.text("SELECT details FROM timeline_entries")).scalars().all()
        assert len(stored) == len(STREAM)
        for text in stored:
            details = json.loads(text)
            assert "identifiers" not in details and "corrections" not in details
            assert "dk-identifiers" not in text and "dk-corrections" not in text
            assert "SEALED" not in text

    def test_same_event_twice_adds_one_entry(self, rebuilt: sa.Engine) -> None:
        before = queries.snapshot(rebuilt)
        apply(rebuilt, STREAM[:3])
        assert queries.snapshot(rebuilt) == before

    def test_redelivery_from_another_position_keeps_the_first(self, audit_db: sa.Engine) -> None:
        event, delivery = STREAM[0]
        apply(audit_db, [(event, delivery), (event, Delivery(delivery.topic, delivery.partition, 999))])
        view = queries.timeline(audit_db, CORRECT_ID)
        assert view is not None
        assert [entry["source"]["offset"] for entry in view["entries"]] == [delivery.offset]


class TestPublicDetails:
    def test_bytes_become_null_and_dates_iso(self) -> None:
        details = handlers.public_details(
            {
                "blob": b"\x00",
                "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                "day": date(2026, 1, 2),
                "list": [date(2026, 1, 3), "x"],
                "n": 5,
                "identifiers": {"x": 1},
                "corrections": None,
            }
        )
        assert details == {
            "blob": None,
            "when": "2026-01-02T03:04:05+00:00",
            "day": "2026-01-02",
            "list": ["2026-01-03", "x"],
            "n": 5,
        }
