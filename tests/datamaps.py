"""Data-map pieces the store tests share: a SQL store entry and the shop's tables (users → orders → order_items),
as YAML text at the indentation of a map's `stores:` list, so a test adds its own stores around them."""

from __future__ import annotations


def accounts_table(name: str = "users", name_category: str = "B", deletion: str | None = None) -> str:
    """A table of accounts: `id` identifies an account id, `email` an email; `name` is PI of `name_category`."""
    strategy = f"        deletion: {{strategy: {deletion}}}\n" if deletion else ""
    return f"""\
      - name: {name}
{strategy}        primary_key: [id]
        fields:
          - {{name: id, identifies: account_id, category: A}}
          - {{name: email, identifies: email, category: A}}
          - {{name: name, category: {name_category}}}
"""


# users.id is an account id, orders.user_id references it, order_items.order_id references orders.id.
SHOP_TABLES = (
    accounts_table()
    + """\
      - name: orders
        primary_key: [id]
        timestamp_field: placed_at
        fields:
          - {name: id, identifies: order_id}
          - {name: user_id, references: users.id}
          - {name: placed_at}
          - {name: total, category: D}
      - name: order_items
        primary_key: [order_id, line]
        fields:
          - {name: order_id, references: orders.id}
          - {name: line}
          - {name: sku, category: D}
"""
)


def sql_store(url: str, collections: str, name: str = "app", timeout_seconds: float | None = None) -> str:
    """A `stores:` entry of kind sql with these collections (YAML at SHOP_TABLES' indentation)."""
    timeout = f"    timeout_seconds: {timeout_seconds:g}\n" if timeout_seconds is not None else ""
    return f"  - name: {name}\n    kind: sql\n    url: {url}\n{timeout}    collections:\n{collections}"


def datamap_yaml(*stores: str, business: str = "Acme") -> str:
    """A data map's YAML: `business` and these `stores:` entries (sql_store's, or YAML at its indentation)."""
    return f"business: {business}\nstores:\n" + "".join(stores)
