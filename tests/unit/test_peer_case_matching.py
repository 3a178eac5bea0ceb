"""Case-insensitive email matching without a sequential scan: the rules (sql_case.py) and their effect on SQLite,
where a mixed-case stored value must still be found."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.datamap import parse_datamap
from services.common.stores.sql import SqlConnector
from services.common.stores.sql_case import ColumnFacts, advice, all_lower, matching
from services.common.stores.sql_connect import case_insensitive_columns, lower_indexed_columns
from tests.datamaps import datamap_yaml, sql_store


@pytest.mark.parametrize(
    ("kind", "facts", "expected"),
    [("email", ColumnFacts(text=True, case_insensitive=True, declared_normalised=True), "collation"),
     ("email", ColumnFacts(text=True, lower_indexed=True, declared_normalised=True, declaration_holds=True),
      "lower_indexed"),
     ("email", ColumnFacts(text=True, declared_normalised=True, declaration_holds=True), "declared"),
     ("email", ColumnFacts(text=True, declared_normalised=True, declaration_holds=False), "lower_unindexed"),
     ("email", ColumnFacts(text=True), "lower_unindexed"),
     ("email", ColumnFacts(text=False), "exact"),
     ("account_id", ColumnFacts(text=True), "exact")],
)  # fmt: skip
def test_the_cheapest_correct_comparison_is_chosen(kind: str, facts: ColumnFacts, expected: str) -> None:
    assert matching(kind, facts) == expected


def test_only_an_unindexed_fold_is_warned_about_naming_the_column_and_the_fix() -> None:
    assert advice("visit", "email", "declared", True) is None
    warning = advice("visit", "email", "lower_unindexed", False)
    assert warning and "visit.email" in warning and "CREATE INDEX ON visit (lower(email))" in warning
    assert "holds values that are not lower-case" in (advice("visit", "email", "lower_unindexed", True) or "")
    assert all_lower(["a@b.c", None, 5]) and not all_lower(["a@b.c", "A@b.c"]) and not all_lower([" a@b.c"])


TABLES = """\
      - name: members
        primary_key: [id]
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A, stored: normalised}
          - {name: other_email, identifies: email, category: A}
          - {name: nocase_email, identifies: email, category: A}
"""


def test_sqlite_finds_mixed_case_values_whatever_is_declared(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/members.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT, other_email TEXT, "
                             "nocase_email TEXT COLLATE NOCASE)")  # fmt: skip
        conn.exec_driver_sql("CREATE INDEX members_other ON members (lower(other_email))")
        conn.exec_driver_sql("INSERT INTO members VALUES (1, 'Ann@Example.com', 'Bob@Example.com', 'Cy@Example.COM'),"
                             " (2, 'dee@example.com', NULL, NULL)")  # fmt: skip
        assert case_insensitive_columns(conn, "members") == {"nocase_email"}
        assert lower_indexed_columns(conn, "members") == {"other_email"}
    engine.dispose()
    datamap = parse_datamap(datamap_yaml(sql_store(url, TABLES, name="crm")), "crm.yaml")
    connector = SqlConnector(datamap, datamap.stores[0])

    def found(email: str) -> list[int]:
        return sorted(record.values["id"] for record in connector.search({"email": frozenset({email})}))

    try:
        with caplog.at_level(logging.WARNING, "services.common.stores.sql"):
            # email is declared normalised but is not: the check sees it and folds case after all, with a warning.
            assert found("ann@example.com") == [1]
            assert found("bob@example.com") == [1]  # through the lower(other_email) index
            assert found("cy@example.com") == [1]  # COLLATE NOCASE, compared as it is
            assert found("dee@example.com") == [2]
        warned = [r.getMessage() for r in caplog.records]
        assert len(warned) == 1 and "members.email" in warned[0] and "ann" not in warned[0].lower()
    finally:
        connector.close()
