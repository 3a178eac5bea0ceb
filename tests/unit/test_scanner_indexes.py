"""Reading what an index serves: its first column, or lower(column), as each dialect writes it."""

from __future__ import annotations

import pytest

from services.common.datamap import parse_datamap
from services.discovery.scanner.indexes import _first_element, lead, unindexed_lookups
from tests.datamaps import datamap_yaml, sql_store


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("email", "email"),
        ('"Email"', "email"),
        ("`account_id`", "account_id"),
        ("lower(email::text)", "lower(email)"),  # PostgreSQL's reflection
        ("lower((email)::character varying(200))", "lower(email)"),
        ('LOWER("email")', "lower(email)"),  # SQLite's CREATE INDEX text
        ("lower( email )", "lower(email)"),
        ("upper(email)", None),
        ("lower(email) || 'x'", None),
        ("substr(phone, 1, 3)", None),
    ],
)
def test_the_lead_of_an_index(expression: str, expected: str | None) -> None:
    assert lead(expression) == expected


def test_the_first_element_of_a_create_index_statement() -> None:
    assert _first_element("CREATE INDEX ix ON customers (lower(email), id)") == "lower(email)"
    assert _first_element('CREATE UNIQUE INDEX "ix" on "customers"(LOWER("email"))') == 'LOWER("email")'
    assert _first_element("CREATE INDEX ix ON t (substr(a, 1, 2), b) WHERE b > 0") == "substr(a, 1, 2)"
    assert _first_element("CREATE INDEX broken") is None


DATAMAP = datamap_yaml(
    sql_store(
        "sqlite://",
        """\
      - name: users
        fields:
          - {name: id, identifies: account_id}
          - {name: email, identifies: email, category: A}
          - {name: name, category: A}
      - name: orders
        fields:
          - {name: id, identifies: order_id}
          - {name: user_id, references: users.id}
""",
    )
)


def test_only_identifier_columns_that_exist_are_checked() -> None:
    datamap = parse_datamap(DATAMAP, "t.yaml", {})
    store = datamap.stores[0]
    users, orders = store.collections
    assert unindexed_lookups(datamap, store, users, ["id", "email", "name"], frozenset({"id"}), frozenset()) == [
        "lower(email)"
    ]
    # a case-insensitive collation (MySQL/MariaDB): the plain column is what the walk asks
    assert unindexed_lookups(datamap, store, users, ["ID", "Email"], frozenset({"id"}), frozenset({"Email"})) == [
        "email"
    ]
    assert unindexed_lookups(datamap, store, users, ["id", "email"], frozenset({"id", "lower(email)"}),
                             frozenset()) == []  # fmt: skip
    assert unindexed_lookups(datamap, store, orders, ["id"], frozenset({"id"}), frozenset()) == []  # user_id absent
