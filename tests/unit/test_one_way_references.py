"""One-way references and shared collections: the walk follows orders.product_id to the product row without
searching orders by product ids, erasure and correction leave shared rows alone, and the data map says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.datamap import DataMapError, parse_datamap
from services.common.stores.sql import SqlConnector
from services.common.stores.values import search_fields, searchable_kinds
from services.common.stores.walk import walk
from services.deletion.corrections import targets
from services.deletion.erasure import plan_erasure
from tests.datamaps import datamap_yaml, sql_store

TABLES = """\
      - name: customer
        primary_key: [id]
        fields:
          - {name: id, identifies: customer_id, category: A}
          - {name: email, identifies: email, category: A}
      - name: orders
        primary_key: [id]
        fields:
          - {name: id, category: D}
          - {name: customer_id, references: customer.id}
          - {name: product_id, references: product.id, one_way: true}
      - name: product
        primary_key: [id]
        shared: true
        fields:
          - {name: id, identifies: product_id}
          - {name: name, label: product}
"""


@pytest.fixture
def shop(tmp_path: Path) -> tuple[object, SqlConnector]:
    url = f"sqlite:///{tmp_path}/shop.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT)")
        conn.exec_driver_sql("CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER)")
        conn.exec_driver_sql("INSERT INTO customer VALUES (1, 'ann@example.com'), (2, 'bob@example.com')")
        conn.exec_driver_sql("INSERT INTO product VALUES (7, 'kettle'), (8, 'lamp')")
        conn.exec_driver_sql("INSERT INTO orders VALUES (10, 1, 7), (11, 2, 7), (12, 2, 8)")
    engine.dispose()
    datamap = parse_datamap(datamap_yaml(sql_store(url, TABLES, name="shop")), "shop.yaml")
    return datamap, SqlConnector(datamap, datamap.stores[0])


def test_the_walk_follows_a_one_way_reference_but_never_searches_it(shop: tuple[object, SqlConnector]) -> None:
    datamap, connector = shop
    try:
        result = walk(datamap, {"shop": connector}, {"email": frozenset({"ann@example.com"})})  # type: ignore[arg-type]
    finally:
        connector.close()
    found = sorted((r.collection, r.values["id"]) for r in result.records["shop"])
    # Bob ordered the same kettle: searching orders.product_id by 7 would have reached his order 11.
    assert found == [("customer", 1), ("orders", 10), ("product", 7)]
    assert result.identifiers["customer_id"] == {"1"}
    assert {r.collection for r in result.subjects_own(datamap)} == {"customer", "orders"}  # type: ignore[arg-type]


def test_search_fields_skip_one_way_references(shop: tuple[object, SqlConnector]) -> None:
    datamap, connector = shop
    connector.close()
    store = datamap.stores[0]  # type: ignore[attr-defined]
    orders = store.collection("orders")
    fields = search_fields(datamap, store, orders, {"product_id": frozenset({"7"}), "customer_id": frozenset({"1"})})  # type: ignore[arg-type]
    assert [f.field.name for f in fields] == ["customer_id"]
    assert "product_id" in searchable_kinds(datamap, store)  # type: ignore[arg-type]  # product.id itself is searched


def test_erasure_and_correction_leave_shared_rows_alone(shop: tuple[object, SqlConnector]) -> None:
    datamap, connector = shop
    connector.close()
    plan = plan_erasure(datamap, {"customer_id": frozenset({"1"}), "product_id": frozenset({"7"}),  # type: ignore[arg-type]
                                  "email": frozenset({"ann@example.com"})})  # fmt: skip
    [store_plan] = plan.stores
    assert {step.collection.name for step in store_plan.steps} == {"customer", "orders"}
    assert not [t for t in targets(datamap, ["name"]) if t.collection.name == "product"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "problem"),
    [("{name: product_id, references: product.id}", "give `one_way: true`"),
     ("{name: product_id, identifies: product_id, one_way: true}", "only applies to a field that `references`"),
     ("{name: note, stored: normalised}", "`stored` only applies")],
)  # fmt: skip
def test_the_data_map_refuses_misused_one_way_and_stored(field: str, problem: str) -> None:
    tables = TABLES.replace("{name: product_id, references: product.id, one_way: true}", field)
    with pytest.raises(DataMapError, match=problem.replace("`", ".").replace("(", r"\(")):
        parse_datamap(datamap_yaml(sql_store("sqlite://", tables, name="shop")), "shop.yaml")
