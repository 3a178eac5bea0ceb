"""Unit tests of intake's SQL identity source on a real SQLite file, alone and behind the verifier."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.identity import IdentifierKind
from services.common.request_types import RequestType
from services.intake.verification import SqlIdentitySource, VerificationLevel, Verifier
from tests.unit.test_verification import verdict

EMAIL = IdentifierKind.EMAIL
PHONE = IdentifierKind.PHONE
ACCOUNT = IdentifierKind.ACCOUNT_ID
DEVICE = IdentifierKind.DEVICE_ID

COLUMNS = {
    "email": "email_address",
    "phone": "mobile",
    "account_id": "acct",
    "name": "full_name",
    "postal_code": "zip",
    "date_of_birth": "dob",
}


@pytest.fixture
def sql_source(tmp_path: Path) -> Iterator[SqlIdentitySource]:
    path = tmp_path / "identity.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email_address TEXT, mobile TEXT, acct TEXT, "
            "full_name TEXT, zip TEXT, dob TEXT, internal_note TEXT)"
        )
        connection.executemany(
            "INSERT INTO customers (email_address, mobile, acct, full_name, zip, dob, internal_note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "  Alice@Example.COM ",
                    "+14155550132",
                    " A-1 ",
                    "Alice Smith",
                    "94105",
                    "1990-01-31",
                    "vip",
                ),
                ("bob@example.com", None, "B-2", "Bob Jones", "10001", None, None),
                ("twin1@example.com", "+12125550100", "T-1", "Twin One", "10002", None, None),
                ("twin2@example.com", "+12125550100", "T-2", "Twin Two", "10002", None, None),
                ("broken@example.com", "not a phone", "X-1", "Broken Phone", "90001", None, None),
            ],
        )
    connection.close()
    source = SqlIdentitySource(f"sqlite:///{path}", "customers", COLUMNS)
    yield source
    source.dispose()


def test_sql_source_finds_by_email_normalising_the_stored_value(sql_source: SqlIdentitySource) -> None:
    record = sql_source.find({EMAIL: "alice@example.com"})
    assert record is not None
    assert dict(record.data_points) == {
        "email": "alice@example.com",
        "phone": "+14155550132",
        "account_id": "A-1",
        "name": "Alice Smith",
        "postal_code": "94105",
        "date_of_birth": "1990-01-31",
    }


def test_sql_source_finds_by_account_id_and_phone(sql_source: SqlIdentitySource) -> None:
    by_account = sql_source.find({ACCOUNT: "A-1"})
    by_phone = sql_source.find({PHONE: "+14155550132"})
    assert by_account is not None and by_phone is not None
    assert by_account.data_points["name"] == by_phone.data_points["name"] == "Alice Smith"


def test_sql_source_drops_null_and_invalid_identifier_columns(sql_source: SqlIdentitySource) -> None:
    bob = sql_source.find({EMAIL: "bob@example.com"})
    broken = sql_source.find({EMAIL: "broken@example.com"})
    assert bob is not None and broken is not None
    assert "phone" not in bob.data_points and "date_of_birth" not in bob.data_points
    assert "phone" not in broken.data_points


def test_sql_source_skips_an_identifier_shared_by_two_rows(sql_source: SqlIdentitySource) -> None:
    assert sql_source.find({PHONE: "+12125550100"}) is None
    twin = sql_source.find({PHONE: "+12125550100", ACCOUNT: "T-2"})
    assert twin is not None and twin.data_points["name"] == "Twin Two"


def test_sql_source_unknown_and_hostile_values_find_nothing(sql_source: SqlIdentitySource) -> None:
    assert sql_source.find({EMAIL: "nobody@example.com"}) is None
    assert sql_source.find({ACCOUNT: "' OR '1'='1"}) is None
    assert sql_source.find({DEVICE: "no device column is mapped"}) is None


def test_sql_source_end_to_end_with_the_verifier(sql_source: SqlIdentitySource) -> None:
    result = Verifier(sql_source).verify(
        RequestType.KNOW_SPECIFIC,
        {EMAIL: " ALICE@example.com "},
        {"name": "alice smith", "date_of_birth": "1990-01-31"},
        signed_declaration=True,
    )
    assert verdict(result) == ("verified", VerificationLevel.REASONABLY_HIGH, 3)


def test_sql_source_needs_an_identifier_column(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="email, phone, account_id or device_id"):
        SqlIdentitySource(f"sqlite:///{tmp_path / 'x.sqlite'}", "customers", {"name": "full_name"})


def test_sql_source_does_not_touch_the_database_when_built(tmp_path: Path) -> None:
    path = tmp_path / "never-created.sqlite"
    SqlIdentitySource(f"sqlite:///{path}", "customers", COLUMNS).dispose()
    assert not path.exists()
