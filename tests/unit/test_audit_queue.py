"""The console's queue and dashboard over audit's tables (SQLite, migrated): the query's rules, each item's state at
`now`, keyset paging that walks every match once in due-date order (ties included), the counts, and the dashboard's
weeks in Los Angeles dates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from services.audit import dashboard, orm, queue, tallies
from services.audit.migrations import SCHEMA
from services.audit.records import BadRecordQuery, Cursor
from services.common.db import make_engine
from services.common.migrations import upgrade

NOW = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # Wednesday 2 December, 12:00 in Los Angeles
DAY = timedelta(days=1)


def row(n: int, request_type: str, due_in: timedelta, **values: Any) -> dict[str, Any]:
    received = NOW + due_in - timedelta(days=45)
    responded = values.get("responded_at")
    return {"request_id": str(uuid.UUID(int=n)), "subject_key": "ab" * 32, "request_type": request_type,
            "channel": values.pop("channel", "web_form"), "received_at": received, "respond_by": NOW + due_in,
            "due_at": NOW + due_in, "answered": responded is not None, **values}  # fmt: skip


ROWS = [
    row(1, "delete", -3 * DAY),  # overdue
    row(2, "delete", 2 * DAY),  # due soon
    row(3, "delete", 2 * DAY),  # the same due instant as 2: the request id breaks the tie
    row(4, "know_specific", 20 * DAY, channel="email"),  # on time
    row(5, "know_specific", 4 * DAY, review_required=True, completed_at=NOW - DAY, awaiting_review=True),
    row(6, "know_categories", 10 * DAY, responded_at=NOW - DAY, response_nature="complied"),
    row(7, "delete", -20 * DAY, responded_at=NOW - 2 * DAY, response_nature="complied"),  # answered late
    row(8, "opt_out", 1 * DAY),
]


@pytest.fixture
def audit_db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(SCHEMA, engine)
    with engine.begin() as conn:
        for values in ROWS:
            conn.execute(sa.insert(orm.request_records).values(**values))
            tallies.move(conn, None, tallies.counted_of(SimpleNamespace(**({"responded_at": None} | values))))
    yield engine
    engine.dispose()


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [uuid.UUID(item["request_id"]).int for item in items]


def walk(engine: sa.Engine, query: queue.QueueQuery, size: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    after: Cursor | None = None
    pages = 0
    with engine.connect() as conn:
        while True:
            page, after = queue.page(conn, query, NOW, size, after)
            items, pages = items + page, pages + 1
            if after is None:
                return items, pages
            after = Cursor.decode(after.encode())


class TestRules:
    @pytest.mark.parametrize(("values", "parameter"), [
        ({"request_type": "sell"}, "type"), ({"status": "late"}, "status"), ({"channel": "fax"}, "channel"),
        ({"due_within_days": 401}, "due_within_days"), ({"due_within_days": -1}, "due_within_days"),
    ])  # fmt: skip
    def test_a_parameter_out_of_its_rule_is_named(self, values: dict[str, Any], parameter: str) -> None:
        with pytest.raises(BadRecordQuery) as refused:
            queue.QueueQuery(**values)
        assert refused.value.parameter == parameter

    @pytest.mark.parametrize("size", [0, 201])
    def test_the_page_size_is_1_to_200(self, size: int) -> None:
        with pytest.raises(BadRecordQuery, match="page_size"):
            queue.page_size_of(size)

    @pytest.mark.parametrize(("values", "state"), [
        ({"responded_at": NOW, "due_at": NOW + DAY}, "answered"),
        ({"responded_at": NOW + 2 * DAY, "due_at": NOW + DAY}, "answered_late"),
        ({"due_at": NOW - timedelta(seconds=1), "awaiting_review": True}, "overdue"),
        ({"due_at": NOW + DAY, "awaiting_review": True}, "awaiting_review"),
        ({"due_at": NOW + 7 * DAY}, "due_soon"),
        ({"due_at": NOW + 7 * DAY + timedelta(seconds=1)}, "on_time"),
    ])  # fmt: skip
    def test_the_state_of_an_item_at_now(self, values: dict[str, Any], state: str) -> None:
        facts = SimpleNamespace(**({"responded_at": None, "awaiting_review": False} | values))
        assert queue.state_of(facts, NOW) == state

    def test_days_left_are_los_angeles_calendar_days(self) -> None:
        facts = SimpleNamespace(**row(1, "delete", -3 * DAY), extended_respond_by=None, responded_at=None,
                                response_nature=None, review_required=None, review_state=None)  # fmt: skip
        assert queue.item(facts, NOW)["days_left"] == -3


class TestQueue:
    def test_the_open_queue_in_due_order_walks_every_open_request_once(self, audit_db: sa.Engine) -> None:
        items, pages = walk(audit_db, queue.QueueQuery(), size=2)
        assert ids(items) == [1, 8, 2, 3, 5, 4] and pages == 3
        assert [item["state"] for item in items] == ["overdue", "due_soon", "due_soon", "due_soon",
                                                     "awaiting_review", "on_time"]  # fmt: skip

    @pytest.mark.parametrize(("query", "expected"), [
        (queue.QueueQuery(status="overdue"), [1]),
        (queue.QueueQuery(status="awaiting_review"), [5]),
        (queue.QueueQuery(status="answered"), [7, 6]),
        (queue.QueueQuery(status="all"), [7, 1, 8, 2, 3, 5, 6, 4]),
        (queue.QueueQuery(request_type="know"), [5, 4]),
        (queue.QueueQuery(request_type="delete", status="all"), [7, 1, 2, 3]),
        (queue.QueueQuery(channel="email"), [4]),
        (queue.QueueQuery(due_within_days=2), [8, 2, 3]),
        (queue.QueueQuery(due_within_days=0), []),
    ])  # fmt: skip
    def test_each_filter(self, audit_db: sa.Engine, query: queue.QueueQuery, expected: list[int]) -> None:
        assert ids(walk(audit_db, query, size=3)[0]) == expected

    def test_counts_are_for_the_type_and_channel_and_matching_for_the_whole_query(self, audit_db: sa.Engine) -> None:
        with audit_db.connect() as conn:
            every = queue.counts(conn, queue.QueueQuery(due_within_days=3), NOW)
            deletes = queue.counts(conn, queue.QueueQuery(request_type="delete", status="answered"), NOW)
        assert every == {"matching": 3, "open": 6, "overdue": 1, "due_within_7_days": 4, "awaiting_review": 1,
                         "answered": 2}  # fmt: skip
        assert deletes == {"matching": 1, "open": 3, "overdue": 1, "due_within_7_days": 2, "awaiting_review": 0,
                           "answered": 1}  # fmt: skip

    def test_an_item_says_what_the_console_shows(self, audit_db: sa.Engine) -> None:
        with audit_db.connect() as conn:
            items, _ = queue.page(conn, queue.QueueQuery(status="awaiting_review"), NOW, 10, None)
        assert items == [{
            "request_id": str(uuid.UUID(int=5)), "request_type": "know_specific", "channel": "web_form",
            "received_at": (NOW - 41 * DAY).isoformat(), "due_at": (NOW + 4 * DAY).isoformat(), "extended": False,
            "responded_at": None, "response_nature": None, "review_state": "pending", "state": "awaiting_review",
            "days_left": 4,
        }]  # fmt: skip


class TestDashboard:
    def test_weeks_start_on_monday_in_los_angeles(self) -> None:
        sunday_evening_la = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # Monday in UTC, Sunday 21:00 in Los Angeles
        assert dashboard.week_starts(sunday_evening_la, 2) == [date(2026, 11, 23), date(2026, 11, 30)]

    def test_overdue_due_this_week_and_throughput(self, audit_db: sa.Engine) -> None:
        with audit_db.connect() as conn:
            board = dashboard.dashboard(conn, NOW, 2)
        assert board["overdue_by_type"]["delete"] == 1 and sum(board["overdue_by_type"].values()) == 1
        # This week ends on Sunday 6 December (Los Angeles): rows 2, 3 (delete), 5 (know_specific), 8 (opt_out).
        assert {k: v for k, v in board["due_this_week_by_type"].items() if v} == {"delete": 2, "know_specific": 1,
                                                                                  "opt_out": 1}  # fmt: skip
        assert board["throughput"] == [{"week_start": "2026-11-23", "received": 0, "answered": 0},
                                       {"week_start": "2026-11-30", "received": 0, "answered": 2}]  # fmt: skip
        assert board["recipients"] == {"awaiting": 0, "overdue": 0, "by_recipient": {}}
        assert board["downstream"] == {"awaiting": 0, "overdue": 0}


class TestMigration0006:
    def test_existing_records_and_instructions_are_backfilled(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(SCHEMA, engine, "0005")
        old = sa.table("request_records", *(sa.column(name) for name in (
            "request_id", "subject_key", "request_type", "received_at", "respond_by", "extended_respond_by",
            "responded_at", "response_nature", "denial_code", "denial_basis")))  # fmt: skip
        base = {"subject_key": "ab" * 32, "request_type": "delete", "received_at": NOW - 50 * DAY,
                "respond_by": NOW - 5 * DAY, "denial_code": None, "denial_basis": None}  # fmt: skip
        with engine.begin() as conn:
            conn.execute(sa.insert(old), [
                base | {"request_id": "r-open", "extended_respond_by": NOW + 40 * DAY, "responded_at": None,
                        "response_nature": None},
                base | {"request_id": "r-done", "extended_respond_by": None, "responded_at": NOW - 9 * DAY,
                        "response_nature": "complied"},
                base | {"request_id": "r-denied", "extended_respond_by": None, "responded_at": NOW - 8 * DAY,
                        "response_nature": "denied", "denial_code": "not_verified", "denial_basis": "unverified"},
            ])  # fmt: skip
            conn.execute(sa.insert(orm.timeline), [  # timeline_entries is as it was at 0005
                {"event_id": f"e-{n}", "request_id": "r-open", "subject_key": "ab" * 32, "event_type": kind,
                 "occurred_at": NOW - (9 - n) * DAY, "producer": "deletion", "topic": "t", "partition": 0,
                 "offset": n, "details": details}
                for n, (kind, details) in enumerate([
                    ("ProviderInstructed", {"instruction_id": "i-1", "recipient": "Mailer", "outcome": "manual"}),
                    ("ProviderOverdue", {"instruction_id": "i-1", "recipient": "Mailer"}),
                    ("ProviderInstructed", {"instruction_id": "i-2", "recipient": "Ledger", "outcome": "delivered"}),
                    ("ProviderConfirmed", {"instruction_id": "i-2", "recipient": "Ledger"}),
                ])
            ])  # fmt: skip
        upgrade(SCHEMA, engine)
        with engine.connect() as conn:
            found = {r.request_id: r for r in conn.execute(sa.select(orm.request_records))}
            instructions = {r.instruction_id: r for r in conn.execute(sa.select(orm.recipient_instructions))}
        engine.dispose()
        assert (found["r-open"].due_at, found["r-open"].answered) == (NOW + 40 * DAY, False)
        assert (found["r-done"].completed_at, found["r-done"].completed_nature, found["r-done"].answered) == (
            NOW - 9 * DAY, "complied", True)  # fmt: skip
        assert (found["r-denied"].denied_code, found["r-denied"].completed_at) == ("not_verified", None)
        assert (instructions["i-1"].awaiting, instructions["i-1"].overdue_at) == (True, NOW - 8 * DAY)
        assert (instructions["i-2"].awaiting, instructions["i-2"].confirmed_at) == (False, NOW - 6 * DAY)
