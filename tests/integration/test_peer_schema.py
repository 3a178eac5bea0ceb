"""The peer benchmark's 9 tables on real PostgreSQL: email look-ups use the plain indexes (EXPLAIN), mixed-case
values are still found where the adapter must fold case, a know follows one-way references to the shared product
row without reaching other buyers, and a deletion leaves product and employee rows alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.peer_floors import load_schema
from services.common.datamap import DataMap, load_datamap, parse_datamap
from services.common.stores.sql import SqlConnector, search_queries
from services.common.stores.values import search_fields
from services.common.stores.walk import walk
from services.deletion.erasure import ErasureEngine, plan_erasure

pytestmark = pytest.mark.integration
DATAMAP = Path(__file__).parents[2] / "bench" / "peer_datamap.yaml"
CUSTOMERS = 20_000  # enough rows that the planner prefers an index where one serves


@pytest.fixture
def peer_db(pg_url: str) -> Iterator[tuple[DataMap, str]]:
    load_schema(make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False), CUSTOMERS)
    yield load_datamap(DATAMAP, {"PEER_DB_URL": pg_url}), pg_url


def plans(connector: SqlConnector, table_name: str, email: str) -> list[str]:
    """EXPLAIN of each email look-up the connector makes on the table."""
    store = connector.store
    collection = store.collection(table_name)
    assert collection is not None
    explained = []
    with connector.engine.connect() as conn:
        table = connector.table(conn, collection)
        as_is = connector.case_insensitive_columns(conn, collection)
        for target in search_fields(connector.datamap, store, collection, {"email": frozenset({email})}):
            [query] = search_queries(table, [table.c.id], target, target.field.name in as_is)
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            explained.append("\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}").scalars()))
    return explained


def test_declared_normalised_emails_are_looked_up_by_their_plain_index(peer_db: tuple[DataMap, str]) -> None:
    datamap, _url = peer_db
    connector = SqlConnector(datamap, datamap.stores[0])
    try:
        for table in ("customer", "visit"):
            [plan] = plans(connector, table, "customer77@example.com")
            assert "Index" in plan and "Seq Scan" not in plan, plan
        email, alt_email = plans(connector, "service_request", "customer75@example.com")
        assert "Index" in email and "Seq Scan" not in email, email
        assert "Seq Scan" in alt_email  # alt_email has no index at all: the schema's choice, named by the scanner
    finally:
        connector.close()


def test_mixed_case_values_are_found_where_the_adapter_must_fold(peer_db: tuple[DataMap, str],
                                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    _datamap, url = peer_db
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE visit SET email = 'Customer42@Example.COM' WHERE id = 42")
        conn.exec_driver_sql("UPDATE customer SET email = 'Customer43@Example.com' WHERE id = 43")
        conn.exec_driver_sql("CREATE INDEX customer_lower_email ON customer (lower(email))")
        conn.exec_driver_sql("ANALYZE customer")
    text = DATAMAP.read_text().replace(", stored: normalised", "")
    undeclared = parse_datamap(text, "undeclared.yaml", {"PEER_DB_URL": url})
    connector = SqlConnector(undeclared, undeclared.stores[0])
    try:
        with caplog.at_level(logging.WARNING, "services.common.stores.sql"):
            found = connector.search({"email": frozenset({"customer42@example.com", "customer43@example.com"})})
            connector.search({"email": frozenset({"customer44@example.com"})})
        assert ("visit", 42) in {(r.collection, r.values["id"]) for r in found}
        assert ("customer", 43) in {(r.collection, r.values["id"]) for r in found}
        [plan] = plans(connector, "customer", "customer43@example.com")
        assert "customer_lower_email" in plan, plan  # the expression index serves lower(email)
        warned = [r.getMessage() for r in caplog.records]
        assert sum("visit.email" in m for m in warned) == 1  # one warning per column, never a value
        assert not any("customer.email" in m for m in warned) and not any("customer42" in m.lower() for m in warned)
    finally:
        connector.close()
        engine.dispose()


def test_a_know_follows_one_way_references_and_a_delete_leaves_shared_rows(peer_db: tuple[DataMap, str]) -> None:
    datamap, url = peer_db
    reader = SqlConnector(datamap, datamap.stores[0])
    engine = sa.create_engine(url)
    try:
        result = walk(datamap, {"peer-db": reader}, {"email": frozenset({"customer10@example.com"})})
        records = result.records["peer-db"]
        by_table = {
            c: sorted(r.values["id"] for r in records if r.collection == c) for c in {r.collection for r in records}
        }
        assert by_table["orders"] == [19, 20] and by_table["customer"] == [10]
        assert by_table["product"] == [20, 21]  # orders 19, 20 bought products 1 + g % 200
        assert by_table["employee"] == [3]  # service request 2 (customer10) was handled by employee 1 + 2 % 50
        with engine.connect() as conn:
            buyers = conn.exec_driver_sql(
                "SELECT count(DISTINCT customer_id) FROM orders WHERE product_id = 20"
            ).scalar()
        assert buyers and buyers > 1  # others bought it, and none of them is in the walk
        assert result.identifiers["customer_id"] == {"10"}
        erasure = ErasureEngine(datamap, b"k" * 32)
        try:
            erasure.erase(plan_erasure(datamap, result.identifiers))
        finally:
            erasure.close()
        again = walk(datamap, {"peer-db": reader}, result.identifiers)
        assert again.subjects_own(datamap) == []
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM product").scalar() == 200
            assert conn.exec_driver_sql("SELECT count(*) FROM employee").scalar() == 50
            assert conn.exec_driver_sql("SELECT count(*) FROM orders WHERE customer_id = 11").scalar() == 2
    finally:
        reader.close()
        engine.dispose()
