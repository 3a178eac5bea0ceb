"""The §7101 records: only submitted requests, dates of receipt in Los Angeles time, a cursor that walks every
record exactly once (ties on the receipt instant included), and the CSV and JSON exports of `ccpa audit records`."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from services.audit import orm, records
from services.audit.migrations import SCHEMA
from services.cli import cli
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.unit.test_audit_proof import ENV

START = datetime(2025, 12, 30, 20, 0, tzinfo=UTC)  # 12:00 on 30 December in Los Angeles


def record_row(n: int, received_at: datetime | None, **values: Any) -> dict[str, Any]:
    return {"request_id": str(uuid.UUID(int=n)), "subject_key": "ab" * 32, "request_type": "delete",
            "channel": "web_form", "received_at": received_at,
            "respond_by": received_at + timedelta(days=45) if received_at else None, **values}  # fmt: skip


@pytest.fixture
def audit_db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(SCHEMA, engine)
    rows = [record_row(n, START + timedelta(hours=6 * (n // 2))) for n in range(1, 12)]  # pairs share an instant
    rows.append(record_row(99, None, request_type=None, responded_at=START, response_nature="complied"))  # partial
    rows[0] |= {"agent_name": "Agents LLC", "agent_permission_reference": "perm-7", "authorized_agent": True,
                "declaration_signed": True, "declaration_signed_at": START, "declaration_text_version": "2026-01",
                "verification_level": "reasonable", "responded_at": START + timedelta(days=3),
                "response_nature": "denied", "denial_code": "exempt", "denial_basis": "a legal hold"}  # fmt: skip
    with engine.begin() as conn:
        for row in rows:
            conn.execute(sa.insert(orm.request_records).values(row))
    yield engine
    engine.dispose()


def test_a_cursor_walks_every_submitted_record_exactly_once_in_order(audit_db: sa.Engine) -> None:
    seen: list[str] = []
    cursor = None
    with audit_db.connect() as conn:
        for _ in range(20):
            found = records.page(conn, records.RecordQuery(), 3, cursor)
            seen += [item["request_id"] for item in found.items]
            if found.next_cursor is None:
                break
            cursor = records.Cursor.decode(found.next_cursor.encode())
        everything = records.every_record(conn, records.RecordQuery())
    assert seen == [item["request_id"] for item in everything]
    assert len(seen) == len(set(seen)) == 11
    assert str(uuid.UUID(int=99)) not in seen  # an answer for a request audit never saw submitted


def test_from_and_to_are_los_angeles_dates_of_receipt(audit_db: sa.Engine) -> None:
    # START + 12h is 00:00 on 31 December in Los Angeles, and 08:00 UTC
    with audit_db.connect() as conn:
        last_day = records.every_record(conn, records.RecordQuery(received_to=date(2025, 12, 30)))
        first_day = records.every_record(conn, records.RecordQuery(received_from=date(2025, 12, 31)))
    assert {item["received_on"] for item in last_day} == {"2025-12-30"} and len(last_day) == 3
    assert len(first_day) == 11 - 3
    assert first_day[0]["date_received"] == "2025-12-31T08:00:00+00:00"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"received_from": date(2025, 2, 1), "received_to": date(2025, 1, 1)}, "to"),
        ({"request_type": "sell"}, "type"),
        ({"status": "lost"}, "status"),
        ({"received_from": date(1, 1, 1)}, "from"),
        ({"received_to": date.max}, "to"),
    ],
)
def test_a_bad_parameter_is_named(query: dict[str, Any], parameter: str) -> None:
    with pytest.raises(records.BadRecordQuery) as refused:
        records.RecordQuery(**query)
    assert refused.value.parameter == parameter


@pytest.mark.parametrize("text", ["not-a-cursor", "", "W10", records.Cursor(START, "x").encode()[:-3] + "!!!"])
def test_a_cursor_the_api_did_not_give_is_refused(text: str) -> None:
    with pytest.raises(records.BadRecordQuery, match="cursor"):
        records.Cursor.decode(text)


def test_page_size_is_bounded() -> None:
    assert records.page_size_of(500) == 500
    for size in (0, 501):
        with pytest.raises(records.BadRecordQuery, match="page_size"):
            records.page_size_of(size)


def test_type_and_status_filter(audit_db: sa.Engine) -> None:
    with audit_db.connect() as conn:
        assert len(records.every_record(conn, records.RecordQuery(status="denied"))) == 1
        assert len(records.every_record(conn, records.RecordQuery(status="open"))) == 10
        assert records.every_record(conn, records.RecordQuery(request_type="know")) == []


def test_the_csv_export_has_a_header_and_the_api_fields(audit_db: sa.Engine, tmp_path: Path) -> None:
    out = tmp_path / "records.csv"
    command = ["audit", "records", "--from", "2025-12-30", "--to", "2026-01-31", "--format", "csv", "--output",
               str(out), "--database-url", str(audit_db.url)]  # fmt: skip
    result = CliRunner().invoke(cli(), command, env=ENV)
    assert result.exit_code == 0, result.output
    assert "wrote 11 record(s)" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == records.FIELDS and len(rows) == 11
    assert rows[0]["agent_name"] == "Agents LLC" and rows[0]["declaration_signed"] == "true"
    assert rows[0]["declaration_text_version"] == "2026-01" and rows[1]["due_at_extended"] == ""
    assert "subject_key" not in rows[0]


def test_the_json_export_is_the_api_items(audit_db: sa.Engine) -> None:
    command = ["audit", "records", "--from", "2025-12-30", "--to", "2025-12-30", "--database-url", str(audit_db.url)]
    result = CliRunner().invoke(cli(), command, env=ENV)
    assert result.exit_code == 0, result.output
    with audit_db.connect() as conn:
        expected = records.every_record(conn, records.RecordQuery(date(2025, 12, 30), date(2025, 12, 30)))
    assert json.loads(result.output) == expected and len(expected) == 3
    assert list(expected[0]) == list(records.FIELDS)


def test_reversed_dates_are_refused_in_one_line(audit_db: sa.Engine) -> None:
    command = ["audit", "records", "--from", "2025-12-30", "--to", "2025-01-01", "--database-url", str(audit_db.url)]
    result = CliRunner().invoke(cli(), command, env=ENV)
    assert result.exit_code != 0 and "--to: must not be before from" in result.output


def test_the_metrics_export_formats(audit_db: sa.Engine, tmp_path: Path) -> None:
    base = ["audit", "metrics", "--year", "2025", "--database-url", str(audit_db.url)]
    as_json = CliRunner().invoke(cli(), [*base, "--format", "json"], env=ENV)
    assert as_json.exit_code == 0, as_json.output
    delete = next(line for line in json.loads(as_json.output)["lines"] if line["request_type"] == "delete")
    assert delete["received"] == 11 and delete["denied"] == 1 and delete["denial_reasons"] == {"exempt": 1}
    as_csv = CliRunner().invoke(cli(), [*base, "--format", "csv"], env=ENV)
    assert as_csv.output.splitlines()[0].startswith("year,request_type,received,") and "separate" in as_csv.output
    page = tmp_path / "metrics.html"
    as_html = CliRunner().invoke(cli(), [*base, "--format", "html", "--output", str(page)], env=ENV)
    assert as_html.exit_code == 0, as_html.output
    html = page.read_text()
    assert "<table>" in html and "opt_out_signal" in html and "http" not in html.split("<body>")[1]
    table = CliRunner().invoke(cli(), [*base, "--format", "table"], env=ENV)
    assert table.exit_code == 0 and "§7102" in table.output and "delete" in table.output


def test_a_gpc_signal_without_a_request_is_its_own_line_and_one_with_a_request_is_not(tmp_path: Path) -> None:
    from services.audit import exports
    from services.audit.metrics7102 import SIGNAL_LINE, SignalOptOuts
    from tests.unit.test_audit_handlers import STREAM, apply

    engine = make_engine(f"sqlite:///{tmp_path / 'stream.db'}")
    upgrade(SCHEMA, engine)
    apply(engine, STREAM)  # a correct, a delete with its GPC consent change, and a device's signal with no request
    with engine.connect() as conn:
        table = exports.metrics_of_year(conn, 2026, SignalOptOuts.SEPARATE)
        included = exports.metrics_of_year(conn, 2026, SignalOptOuts.INCLUDE)
    engine.dispose()
    by_type = {line["request_type"]: line for line in table["lines"]}
    assert by_type[SIGNAL_LINE]["received"] == 1 and table["signal_opt_outs"]["count"] == 1
    assert by_type["delete"]["denied"] == 1 and by_type["correct"]["complied_in_whole_or_in_part"] == 1
    assert by_type["opt_out"]["received"] == 0
    assert next(line for line in included["lines"] if line["request_type"] == "opt_out")["received"] == 1
