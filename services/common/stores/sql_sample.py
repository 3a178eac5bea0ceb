"""Sampling a SQL store for the PI scanner: every table of every schema (on PostgreSQL, the non-system ones too),
its columns, keys and collations, and its first rows; binary columns are named, never read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from services.common.stores.base import StoreUnavailable
from services.common.stores.sql_connect import case_insensitive_columns

SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})
# The scanner's reading of a table's indexes (which look-ups they serve), given the inspector and a connection.
IndexLeads = Callable[[sa.Inspector, sa.Connection, str | None, str], frozenset[str]]


@dataclass(frozen=True)
class TableSample:
    name: str  # schema.table, or table in the default schema
    records: list[list[tuple[str, Any]]]  # each row as (column, value)
    columns: tuple[str, ...] = ()  # read, known even when the table is empty
    skipped: tuple[str, ...] = ()  # binary columns, not read
    primary_key: tuple[str, ...] = ()
    index_leads: frozenset[str] | None = None
    case_insensitive: frozenset[str] = frozenset()  # columns whose collation ignores case (MySQL/MariaDB)
    problem: str | None = None  # the table could not be read


class Sampling:
    """`tables()` lists what there is to sample (StoreUnavailable when the store does not answer); `samples()`."""

    def __init__(self, store: str, engine: sa.Engine, limit: int, leads: IndexLeads | None = None) -> None:
        self.store = store
        self.engine = engine
        self.limit = limit
        self.leads = leads
        self._tables: list[tuple[str | None, str]] = []

    def tables(self) -> list[tuple[str | None, str]]:
        try:
            inspector = sa.inspect(self.engine)
            schemas = _schemas(inspector, self.engine.dialect.name)
            self._tables = [(schema, table) for schema in schemas for table in inspector.get_table_names(schema)]
        except SQLAlchemyError as exc:
            raise StoreUnavailable(self.store, first_line(exc)) from None
        return self._tables

    def samples(self) -> Iterator[TableSample]:
        inspector = sa.inspect(self.engine)
        for schema, table in self._tables:
            name = f"{schema}.{table}" if schema else table
            try:
                yield self._sample(inspector, schema, table, name)
            except SQLAlchemyError as exc:
                yield TableSample(name, [], problem=f"cannot read: {first_line(exc)}")

    def _sample(self, inspector: sa.Inspector, schema: str | None, table: str, name: str) -> TableSample:
        columns = inspector.get_columns(table, schema)
        readable = tuple(column["name"] for column in columns if not _binary(column["type"]))
        skipped = tuple(column["name"] for column in columns if _binary(column["type"]))
        primary_key = tuple(inspector.get_pk_constraint(table, schema).get("constrained_columns") or ())
        records: list[list[tuple[str, Any]]] = []
        with self.engine.connect() as connection:
            if readable:
                query = sa.table(table, *(sa.column(c) for c in readable), schema=schema).select().limit(self.limit)
                records = [list(zip(readable, row, strict=True)) for row in connection.execute(query)]
            leads = self.leads(inspector, connection, schema, table) if self.leads else None
            folded = case_insensitive_columns(connection, name)
        return TableSample(name, records, readable, skipped, primary_key, leads, folded)


def _schemas(inspector: sa.Inspector, dialect: str) -> list[str | None]:
    """The default schema, and on PostgreSQL every other non-system schema too."""
    if dialect != "postgresql":
        return [None]
    default = inspector.default_schema_name
    others = [s for s in inspector.get_schema_names() if s != default and s not in SYSTEM_SCHEMAS
              and not s.startswith("pg_temp") and not s.startswith("pg_toast")]  # fmt: skip
    return [None, *others]


def _binary(column_type: Any) -> bool:
    return isinstance(column_type, sa.LargeBinary | sa.BINARY | sa.VARBINARY)


def first_line(exc: BaseException) -> str:
    """The first line of the error, which names the cause without the statement or its parameters."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]
