"""Which look-ups a SQL table's indexes serve, so the scanner can name the identifier columns discovery must scan.

Discovery asks every identifying column `column IN (…)` (emails as `lower(column)`, unless a MySQL/MariaDB
collation already ignores case; see services/common/stores/sql.py). Without an index that starts with that column
or expression, every request reads the whole table: 22 ms per look-up at 100,000 customers, seconds at tens of
millions. An index serves a look-up when its first column or expression is the one asked for; the primary key and
unique constraints count as indexes, partial indexes (`WHERE …`) do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from services.common.datamap.model import Collection, DataMap, Store

# lower(email), lower((email)::text), LOWER("email"), lower(`email`), once blanks are removed and lower-cased
_LOWER = re.compile(r'^lower\(\(?[`"\[]?([a-z0-9_$]+)[`"\]]?\)?(?:::[a-z]+(?:\(\d+\))?)?\)$')
_PLAIN = re.compile(r'^[`"\[]?([a-z0-9_$]+)[`"\]]?$')
_PARTIAL = re.compile(r"\)\s*WHERE\s", re.IGNORECASE)


def lead(expression: str) -> str | None:
    """`column` or `lower(column)` for the first element of an index, or None for any other expression."""
    text = "".join(expression.split()).lower()
    if match := _LOWER.match(text):
        return f"lower({match.group(1)})"
    if match := _PLAIN.match(text):
        return match.group(1)
    return None


def index_leads(inspector: sa.Inspector, connection: sa.Connection, schema: str | None, table: str) -> frozenset[str]:
    """The first column or expression of every index, the primary key and the unique constraints of the table."""
    leads: set[str | None] = set()
    primary_key = inspector.get_pk_constraint(table, schema).get("constrained_columns") or []
    leads.add(primary_key[0].lower() if primary_key else None)
    for index in inspector.get_indexes(table, schema):
        if any(key.endswith("_where") for key in index.get("dialect_options", {})):
            continue  # a partial index serves only the rows of its predicate
        first = (index.get("expressions") or index.get("column_names") or [None])[0]
        leads.add(lead(first) if first else None)
    for unique in inspector.get_unique_constraints(table, schema):
        columns = unique.get("column_names") or []
        leads.add(columns[0].lower() if columns else None)
    if connection.dialect.name == "sqlite":  # SQLAlchemy does not reflect SQLite's indexes on expressions
        rows = connection.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"),
            {"table": table},
        )  # fmt: skip
        leads.update(lead(element) for (statement,) in rows
                     if not _PARTIAL.search(statement) and (element := _first_element(statement)))  # fmt: skip
    return frozenset(found for found in leads if found)


def _first_element(create_index: str) -> str | None:
    """The first column or expression of `CREATE INDEX name ON table (first, …)`."""
    match = re.search(r"\bON\s+[^\s(]+\s*\(", create_index, re.IGNORECASE)
    if not match:
        return None
    depth, start = 0, match.end()
    for position in range(start, len(create_index)):
        char = create_index[position]
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char in ",)" and not depth:
            return create_index[start:position]
    return None


def unindexed_lookups(datamap: DataMap, store: Store, collection: Collection, columns: Iterable[str],
                      leads: frozenset[str], case_insensitive: frozenset[str]) -> list[str]:  # fmt: skip
    """The look-ups (`column` or `lower(column)`) the walk makes on this table that no index serves."""
    present = {column.lower() for column in columns}
    folded = {column.lower() for column in case_insensitive}
    missing = []
    for field in collection.fields:
        name = field.name.lower()
        kind = datamap.identifier_kind(store, collection, field)
        if kind is None or name not in present:
            continue
        if kind == "email" and name not in folded:
            wanted = f"lower({name})"
            served = wanted in leads
        else:
            wanted, served = name, name in leads
        if not served:
            missing.append(wanted)
    return missing
