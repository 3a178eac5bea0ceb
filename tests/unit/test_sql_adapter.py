"""The SQL store adapter's operations on a real SQLite database: read, erase, correct, flag, sample, and the
identifier scan; and optout's systems of record writing their flags through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.datamap import DataMap, parse_datamap
from services.common.stores.base import StoreConfigError
from services.common.stores.sql import SqlConnector
from services.common.stores.sql_connect import NoSuchDatabase, sql_engine
from services.common.stores.values import SearchField, search_fields
from services.optout.rules import ConsentState
from services.optout.systems import SystemsOfRecord
from tests.datamaps import datamap_yaml, sql_store

DATAMAP = datamap_yaml(
    sql_store(
        "${CRM_URL}",
        """\
      - name: customers
        primary_key: [id]
        opt_out_flags: {sale_opt_out: do_not_sell, limit_sensitive: limits}
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: city, category: A}
          - {name: do_not_sell}
          - {name: limits}
      - name: notes
        fields:
          - {name: email, identifies: email, category: A}
""",
        name="crm",
    )
)


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[tuple[DataMap, sa.Engine]]:
    url = f"sqlite:///{tmp_path}/crm.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, city TEXT, "
                             "do_not_sell BOOLEAN NOT NULL DEFAULT 0, limits TEXT NOT NULL DEFAULT '')")  # fmt: skip
        conn.exec_driver_sql("CREATE TABLE notes (email TEXT, body BLOB)")
        conn.exec_driver_sql("INSERT INTO customers (id, email, city) VALUES ('a1', 'Ann@Example.com', 'Fresno'), "
                             "('b2', 'bob@example.com', 'Eureka')")  # fmt: skip
        conn.exec_driver_sql("INSERT INTO notes VALUES ('ann@example.com', x'00')")
    yield parse_datamap(DATAMAP, env={"CRM_URL": url}), engine
    engine.dispose()


def adapter(datamap: DataMap, read_only: bool = False) -> SqlConnector:
    store = datamap.store("crm")
    assert store is not None
    return SqlConnector(datamap, store, read_only=read_only)


def customers(engine: sa.Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, email, city, do_not_sell, limits FROM customers").all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_read_finds_the_subject_by_an_email_in_another_case(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    store = adapter(datamap, read_only=True)
    found = store.search({"email": frozenset({"ann@example.com"})})
    store.close()
    assert sorted((record.collection, record.values.get("city")) for record in found) == [
        ("customers", "Fresno"), ("notes", None)
    ]  # fmt: skip


def test_flag_writes_the_state_into_the_subjects_rows_only_and_is_idempotent(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    store = adapter(datamap)
    collection = datamap.systems_of_record()[0][1]
    flags = {"do_not_sell": True, "limits": "precise_geolocation"}
    assert store.flag(collection, {"email": frozenset({"ann@example.com"})}, flags) == 1
    assert store.flag(collection, {"email": frozenset({"ann@example.com"})}, flags) == 1  # same state: still found
    assert store.flag(collection, {"account_id": frozenset({"zz9"})}, flags) == 0
    store.close()
    assert customers(engine) == {"a1": ("Ann@Example.com", "Fresno", 1, "precise_geolocation"),
                                 "b2": ("bob@example.com", "Eureka", 0, "")}  # fmt: skip


def test_flag_needs_a_primary_key_to_write_by(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    store = adapter(datamap)
    notes = datamap.store("crm").collection("notes")  # type: ignore[union-attr]
    assert notes is not None
    with pytest.raises(StoreConfigError, match=r"'notes' has no primary key .* give `primary_key`"):
        store.flag(notes, {"email": frozenset({"ann@example.com"})}, {"email": "x"})
    store.close()


def test_correct_counts_the_subjects_rows_and_those_that_differed(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    store = adapter(datamap)
    collection = datamap.systems_of_record()[0][1]
    with store.engine.begin() as conn:
        assert store.correct(conn, collection, "city", {"account_id": frozenset({"a1"})}, "Oakland") == (1, 1)
    with store.engine.begin() as conn:
        assert store.correct(conn, collection, "city", {"account_id": frozenset({"a1"})}, "Oakland") == (1, 0)
        assert store.correct(conn, collection, "city", {"email": frozenset({"nobody@example.com"})}, "X") == (0, 0)
    store.close()
    assert customers(engine)["a1"][1] == "Oakland" and customers(engine)["b2"][1] == "Eureka"


def test_erase_deletes_and_rewrites_rows_by_primary_key(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    store = adapter(datamap)
    collection = datamap.systems_of_record()[0][1]
    with store.engine.begin() as conn:
        rows = store.matched_rows(conn, collection, ["city"], _targets(datamap, {"account_id": {"a1", "b2"}}))
        assert rows == {("a1",): {"id": "a1", "city": "Fresno"}, ("b2",): {"id": "b2", "city": "Eureka"}}
        store.erase(conn, store.table(conn, collection), ("id",), [("a1",)], [(("b2",), {"city": None})])
    store.close()
    assert customers(engine) == {"b2": ("bob@example.com", None, 0, "")}


def test_the_identifier_scan_reads_every_identifying_column(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    store = adapter(datamap, read_only=True)
    assert sorted(store.identifier_values()) == [
        ("account_id", "a1"), ("account_id", "b2"), ("email", "ann@example.com"), ("email", "ann@example.com"),
        ("email", "bob@example.com"),
    ]  # fmt: skip
    store.close()


def test_sample_reads_the_first_rows_of_every_table_and_names_binary_columns(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, _ = crm
    store = adapter(datamap, read_only=True)
    sampling = store.sample(1, leads=lambda _inspector, _conn, _schema, table: frozenset({f"lead-of-{table}"}))
    assert sampling.tables() == [(None, "customers"), (None, "notes")]
    first, notes = list(sampling.samples())
    store.close()
    assert first.name == "customers" and len(first.records) == 1 and first.primary_key == ("id",)
    assert first.index_leads == frozenset({"lead-of-customers"})
    assert notes.columns == ("email",) and notes.skipped == ("body",)


def test_a_read_only_sqlite_that_must_exist_is_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(NoSuchDatabase, match="no SQLite database at"):
        sql_engine(f"sqlite:///{missing}", 1.0, read_only=True, must_exist=True)
    assert not missing.exists()


def test_a_read_only_engine_refuses_writes(crm: tuple[DataMap, sa.Engine], tmp_path: Path) -> None:
    engine = sql_engine(f"sqlite:///{tmp_path}/crm.db", 1.0, read_only=True, must_exist=True)
    with pytest.raises(sa.exc.OperationalError), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM customers")
    engine.dispose()


def test_optout_sets_the_flags_of_the_data_maps_systems_of_record(crm: tuple[DataMap, sa.Engine]) -> None:
    datamap, engine = crm
    systems = SystemsOfRecord(datamap)
    state = ConsentState(sale_opt_out=True, share_opt_out=True, limit_sensitive=frozenset({"health", "genetic"}))
    assert systems.set_flags({"email": "bob@example.com", "phone": "+14155550100"}, state) == ["crm"]
    assert systems.set_flags({"email": "nobody@example.com"}, state) == []
    systems.dispose()
    assert customers(engine)["b2"][2:] == (1, "genetic,health")
    assert customers(engine)["a1"][2:] == (0, "")


def _targets(datamap: DataMap, identifiers: dict[str, set[str]]) -> list[SearchField]:
    store = datamap.store("crm")
    assert store is not None
    collection = store.collections[0]
    return search_fields(datamap, store, collection, {kind: frozenset(v) for kind, v in identifiers.items()})
