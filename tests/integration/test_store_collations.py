"""MySQL/MariaDB case-insensitive collations: the SQL connector uses the plain index and keeps only exact matches."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.common.datamap import parse_datamap
from services.common.stores import open_connector
from services.common.stores.sql import case_insensitive_columns, search_queries
from services.common.stores.values import search_fields
from tests.datamaps import datamap_yaml, sql_store

pytestmark = pytest.mark.integration


COLLATION_DATAMAP = datamap_yaml(
    sql_store(
        "${SHOP_DB_URL}",
        """\
      - name: members
        primary_key: [id]
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: backup_email, identifies: email, category: A}
          - {name: device, identifies: device_id, category: F}
""",
        name="shop",
        timeout_seconds=5,
    )
)


def test_mariadb_case_insensitive_collations_use_the_index_and_match_exactly(mariadb_url: str) -> None:
    """On MySQL/MariaDB, `email` (utf8mb4_unicode_ci) is compared as it is, so its plain index serves the look-up
    (lower(email) would scan the table), and rows the collation matches too loosely (accents, trailing spaces,
    other case for a device id) are dropped; a binary column is still matched case-insensitively for emails.
    """
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE members (id INT PRIMARY KEY, email VARCHAR(200), backup_email VARCHAR(200) COLLATE "
            "utf8mb4_bin, device VARCHAR(64), KEY ix_members_email (email), KEY ix_members_device (device))"
        )
        rows = [(1, "Ann@Example.com", None, "dev-ABC"), (2, "josé@example.com", None, "dev-abc"),
                (3, "JOSE@example.com", "Jose@Example.com", None), (4, "jose@example.com ", None, None)]  # fmt: skip
        rows += [(i, f"person{i}@example.com", f"person{i}@example.com", f"dev-{i}") for i in range(10, 3000)]
        conn.execute(sa.text("INSERT INTO members VALUES (:id, :email, :backup, :device)"),
                     [{"id": r[0], "email": r[1], "backup": r[2], "device": r[3]} for r in rows])  # fmt: skip
        conn.exec_driver_sql("ANALYZE TABLE members")
    datamap = parse_datamap(COLLATION_DATAMAP, "collation.yaml", {"SHOP_DB_URL": mariadb_url})
    [store] = datamap.stores
    connector = open_connector(datamap, store)

    def found(kind: str, value: str) -> list[int]:
        return sorted(record.values["id"] for record in connector.search({kind: frozenset({value})}))

    try:
        assert found("email", "ann@example.com") == [1]
        assert found("email", "jose@example.com") == [3]  # not josé, not the one with a trailing space
        assert found("email", "josé@example.com") == [2]
        assert found("device_id", "dev-abc") == [2]  # exact for kinds that are not emails
        assert found("device_id", "dev-ABC") == [1]
        assert found("email", "person2999@example.com") == [2999]

        with connector.engine.connect() as conn:  # type: ignore[attr-defined]
            assert case_insensitive_columns(conn, "members") == {"email", "device"}
            table = sa.Table("members", sa.MetaData(), autoload_with=conn)
            targets = search_fields(datamap, store, store.collections[0], {"email": frozenset({"ann@example.com"})})
            plans = {}
            for target in targets:
                [query] = search_queries(table, [table.c.id], target, target.field.name == "email")
                sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
                plans[target.field.name] = conn.exec_driver_sql(f"EXPLAIN {sql}").mappings().one()
    finally:
        connector.close()
        engine.dispose()
    assert plans["email"]["key"] == "ix_members_email", plans["email"]
    assert plans["backup_email"]["type"] == "ALL"  # lower(column) on a binary collation: a scan, as it must be
