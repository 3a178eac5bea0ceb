"""The SQL store adapter (SQLAlchemy Core; PostgreSQL, SQLite, MySQL/MariaDB): one engine and one reflection cache
per store, and the operations services ask of a SQL store: read (the walk's search), erase, correct, flag (the
opt-out service's do-not-sell/share columns), sample (the PI scanner) and the identifier scan of a restore.
Connecting is sql_connect.py; the writes are sql_writes.py; sampling is sql_sample.py.

Identifier values only ever travel as bound parameters, converted to the column's type first: a value that is not
a valid integer for an integer column is dropped, so nothing shaped like SQL can change a query.

A row matches when its column holds one of the values exactly (emails: lower-cased), on every dialect, and the
comparison is chosen once per column so that a plain index serves it wherever that stays correct (sql_case.py):
a column whose collation or type ignores case (MySQL/MariaDB `…_ci`, PostgreSQL citext or a nondeterministic
collation, SQLite NOCASE) is compared as it is and the rows the collation matches too loosely (accents, trailing
spaces, other case for kinds that are not emails) are dropped after the read; an email column with an index on
`lower(column)` is compared through it; one the data map declares `stored: normalised` is compared as it is once
its first values agree; any other email column is compared as `lower(column)`, with one warning naming it and the fix.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores import sql_case, sql_sample, sql_writes
from services.common.stores.base import FoundRecord, Identifiers, StoreConfigError, StoreUnavailable
from services.common.stores.sql_case import ColumnFacts
from services.common.stores.sql_connect import (
    DEFAULT_DRIVERS,
    ReflectedTables,
    case_insensitive_columns,
    failure_reason,
    reflect_table,
    sql_engine,
)
from services.common.stores.values import (
    SearchField,
    batched,
    identifier_values,
    normalise_identifier,
    occurred_at,
    record_values,
    search_fields,
    searched_collections,
    short_hash,
)

log = logging.getLogger(__name__)
BATCH_SIZE = 500
SCAN_BATCH = 5000
INT64_MAX = 2**63 - 1
DIGITS = re.compile(r"[0-9]{1,19}")
Key = tuple[Any, ...]
__all__ = ["DEFAULT_DRIVERS", "SqlConnector", "case_insensitive_columns", "failure_reason", "reflect_table",
           "sql_engine"]  # fmt: skip


class SqlConnector:
    """The adapter of one SQL store; read-only unless opened for writing (erase, correct, flag)."""

    def __init__(self, datamap: DataMap, store: Store, read_only: bool = True, must_exist: bool = False) -> None:
        if not store.url:
            raise ValueError(f"store {store.name}: a sql store needs `url`")
        self.datamap = datamap
        self.store = store
        self.engine = sql_engine(store.url, store.timeout_seconds, read_only, must_exist)
        self.reflected = ReflectedTables()
        self._as_is: dict[str, frozenset[str]] = {}
        self._as_is_lock = threading.Lock()

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        found: dict[tuple[str, str], FoundRecord] = {}
        with self.failures_as_unavailable(), self.engine.connect() as conn:
            for collection in searched_collections(self.store):
                for record in self._search_collection(conn, collection, identifiers):
                    found.setdefault((record.collection, record.locator), record)
        return list(found.values())

    def table(self, conn: sa.Connection, collection: Collection) -> sa.Table:
        """The collection's table as the database describes it, reflected once."""
        return self.reflected.table(conn, collection.name)

    def case_insensitive_columns(self, conn: sa.Connection, collection: Collection) -> frozenset[str]:
        """Columns compared as they are, so a plain index serves the look-up (sql_case.py), decided once per table:
        those whose collation or type ignores case, and emails declared `stored: normalised` that hold up."""
        with self._as_is_lock:
            if collection.name not in self._as_is:
                self._as_is[collection.name] = self._compared_as_is(conn, collection)
            return self._as_is[collection.name]

    def _compared_as_is(self, conn: sa.Connection, collection: Collection) -> frozenset[str]:
        table = self.table(conn, collection)
        folded = self.reflected.case_insensitive_columns(conn, collection.name)
        lowered = self.reflected.lower_indexed_columns(conn, collection.name)
        as_is = set(folded)
        for data_field in collection.fields:
            kind = self.datamap.identifier_kind(self.store, collection, data_field)
            if not kind or not data_field.searched or data_field.name not in table.c:
                continue
            column = table.c[data_field.name]
            declared = data_field.stored == "normalised"
            facts = ColumnFacts(isinstance(column.type, sa.String), column.name in folded, column.name in lowered,
                                declared, declared and _normalised_sample(conn, table, column))  # fmt: skip
            how = sql_case.matching(kind, facts)
            if warning := sql_case.advice(collection.name, column.name, how, declared):
                log.warning(warning, extra={"store": self.store.name, "table": collection.name,
                                            "column": column.name})  # fmt: skip
            if how == "declared":
                as_is.add(column.name)
        return frozenset(as_is)

    def matched_rows(self, conn: sa.Connection, collection: Collection, columns: Sequence[str],
                     targets: Sequence[SearchField]) -> dict[Key, dict[str, Any]]:  # fmt: skip
        """Primary key → row (the primary key and `columns`) of every row a target matches, each row once."""
        table = self.table(conn, collection)
        key_columns = primary_key_columns(table, collection)
        names = dict.fromkeys(name for name in (*key_columns, *columns) if name and name in table.c)
        selected: list[sa.ColumnElement[Any]] = [table.c[name] for name in names]
        folded = self.case_insensitive_columns(conn, collection)
        rows: dict[Key, dict[str, Any]] = {}
        for target in targets:
            if target.field.name not in table.c:
                raise StoreUnavailable(self.store.name, f"table {collection.name!r} has no column "
                                       f"{target.field.name!r} named in the data map")  # fmt: skip
            for raw in matching_rows(conn, table, selected, target, folded):
                rows.setdefault(tuple(raw[name] for name in key_columns), raw)
        return rows

    def erase(self, conn: sa.Connection, table: sa.Table, key_columns: tuple[str, ...], deletes: Sequence[Key],
              updates: Sequence[tuple[Key, dict[str, Any]]]) -> None:  # fmt: skip
        """Delete rows and set new values in others, by primary key, in the caller's transaction."""
        sql_writes.delete_rows(conn, table, key_columns, deletes, BATCH_SIZE)
        sql_writes.update_rows(conn, table, key_columns, updates)

    def correct(self, conn: sa.Connection, collection: Collection, field_name: str, identifiers: Identifiers,
                value: str) -> tuple[int, int]:  # fmt: skip
        """Set the subject's rows' field to `value`: (rows of the subject, rows whose value differed)."""
        table = self.table(conn, collection)
        targets = search_fields(self.datamap, self.store, collection, identifiers)
        subject = sa.or_(sa.false(), *(_matches(table.c[t.field.name], t) for t in targets if t.field.name in table.c))
        column = table.c[field_name]
        new_value = value if isinstance(column.type, sa.String) else column_value(column.type, value)
        return sql_writes.correct(conn, table, column, subject, new_value)

    def flag(self, collection: Collection, identifiers: Identifiers, flags: Mapping[str, Any]) -> int:
        """Write `flags` (column → value) into every row of the subject; the rows matched (0: none holds them).

        Driver errors pass as they are: the opt-out consumer retries those that may pass (database unreachable).
        """
        with self.engine.begin() as conn:
            table = self.table(conn, collection)
            key_columns = primary_key_columns(table, collection)
            if not key_columns:
                raise StoreConfigError(self.store.name, f"table {collection.name!r} has no primary key in the "
                                       "database or the data map; give `primary_key` so its rows can be "
                                       "flagged")  # fmt: skip
            targets = search_fields(self.datamap, self.store, collection, identifiers)
            rows = self.matched_rows(conn, collection, list(flags), targets)
            changed = [(key, dict(flags)) for key, raw in rows.items()
                       if any(raw.get(column) != value for column, value in flags.items())]  # fmt: skip
            sql_writes.update_rows(conn, table, key_columns, changed)
            return len(rows)

    def sample(self, limit: int, leads: sql_sample.IndexLeads | None = None) -> sql_sample.Sampling:
        """The first `limit` rows of every table (sql_sample.py); StoreUnavailable when the store does not answer."""
        return sql_sample.Sampling(self.store.name, self.engine, limit, leads)

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) of every identifying column of every table, for reapplying the ledger after a restore."""
        with self.failures_as_unavailable(), self.engine.connect() as conn:
            for collection in searched_collections(self.store):
                table = self.table(conn, collection)
                for data_field in collection.fields:
                    kind = self.datamap.identifier_kind(self.store, collection, data_field)
                    if kind and data_field.name in table.c:
                        yield from _distinct_values(conn, table.c[data_field.name], kind)

    def failures_as_unavailable(self) -> contextlib.AbstractContextManager[None]:
        """A missing table, a driver error or a pool timeout becomes StoreUnavailable, with a reason safe to show."""
        return unavailable_on_failure(self.store.name)

    def close(self) -> None:
        self.engine.dispose()

    def _search_collection(self, conn: sa.Connection, collection: Collection,
                           identifiers: Identifiers) -> Iterator[FoundRecord]:  # fmt: skip
        targets = search_fields(self.datamap, self.store, collection, identifiers)
        if not targets:
            return
        table = self.table(conn, collection)
        columns = self._selected_columns(table, collection)
        folded = self.case_insensitive_columns(conn, collection)
        for target in targets:
            for raw in matching_rows(conn, table, columns, target, folded):
                yield FoundRecord(self.store.name, collection.name, self._locator(table, collection, raw),
                                  record_values(collection, raw), occurred_at(collection, raw))  # fmt: skip

    def _selected_columns(self, table: sa.Table, collection: Collection) -> list[sa.ColumnElement[Any]]:
        names = [field.name for field in collection.fields]
        names += [name for name in primary_key_columns(table, collection) if name not in names]
        missing = [name for name in names if name not in table.c]
        if missing:
            raise StoreUnavailable(self.store.name, f"table {collection.name!r} has no column(s) "
                                   f"{', '.join(map(repr, missing))} named in the data map")  # fmt: skip
        return [table.c[name] for name in names]

    def _locator(self, table: sa.Table, collection: Collection, raw: Mapping[str, Any]) -> str:
        return row_locator(self.datamap, self.store, collection, primary_key_columns(table, collection), raw)


@contextlib.contextmanager
def unavailable_on_failure(store: str) -> Iterator[None]:
    """A missing table, a driver error (but a refused constraint) or a pool timeout as StoreUnavailable."""
    try:
        yield
    except sa.exc.NoSuchTableError as exc:
        raise StoreUnavailable(store, f"table {exc.args[0]!r} named in the data map does not exist") from None
    except sa.exc.IntegrityError:
        raise
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        raise StoreUnavailable(store, failure_reason(exc)) from None


def matching_rows(conn: sa.Connection, table: sa.Table, columns: list[sa.ColumnElement[Any]], target: SearchField,
                  case_insensitive: frozenset[str] = frozenset()) -> Iterator[dict[str, Any]]:  # fmt: skip
    """The rows (selected columns, and the target column) whose target column holds one of the target's values.

    `case_insensitive` names columns whose collation ignores case: they are compared as they are, and the rows
    the collation matched too loosely are dropped here, so every dialect gives the same rows.
    """
    column = table.c[target.field.name]
    folded = column.name in case_insensitive and isinstance(column.type, sa.String)
    selected = columns if not folded or any(c.key == column.key for c in columns) else [*columns, column]
    wanted = set(_converted(column, target))
    for query in search_queries(table, selected, target, folded):
        for row in conn.execute(query):
            raw = dict(row._mapping)
            if folded and _stored_as(target.kind, raw[column.name]) not in wanted:
                continue
            yield raw


def _normalised_sample(conn: sa.Connection, table: sa.Table, column: sa.Column[Any]) -> bool:
    """The declaration `stored: normalised` checked cheaply: the first stored values are all lower-case."""
    query = sa.select(column).where(column.is_not(None)).limit(sql_case.NORMALISED_CHECK_ROWS)
    return sql_case.all_lower(conn.scalars(query))


def _stored_as(kind: str, value: Any) -> Any:
    return value.lower() if kind == "email" and isinstance(value, str) else value


def search_queries(table: sa.Table, columns: list[sa.ColumnElement[Any]], target: SearchField,
                   case_insensitive: bool = False) -> Iterator[sa.Select[Any]]:  # fmt: skip
    """SELECT the columns WHERE the target column IN (bound values), in batches of at most BATCH_SIZE.

    Emails are compared as lower(column), unless the column's collation already ignores case (`case_insensitive`:
    see `matching_rows`, which then drops the rows such a collation matches too loosely).
    """
    column = table.c[target.field.name]
    matched = _compared(column, target, case_insensitive)
    for batch in batched(_converted(column, target), BATCH_SIZE):
        yield sa.select(*columns).where(matched.in_(list(batch)))


def _compared(column: sa.ColumnElement[Any], target: SearchField,
              case_insensitive: bool = False) -> sa.ColumnElement[Any]:  # fmt: skip
    if target.kind == "email" and isinstance(column.type, sa.String) and not case_insensitive:
        return sa.func.lower(column)
    return column


def _matches(column: sa.ColumnElement[Any], target: SearchField) -> sa.ColumnElement[bool]:
    """The column holds one of the target's values (emails compared as lower(column)); false when none converts."""
    values = _converted(column, target)
    return _compared(column, target).in_(values) if values else sa.false()


def _converted(column: sa.ColumnElement[Any], target: SearchField) -> list[Any]:
    values = {value for raw in target.values if (value := column_value(column.type, raw)) is not None}
    return sorted(values, key=str)


def column_value(column_type: sa.types.TypeEngine[Any], value: str) -> Any:
    """The identifier converted to the column's Python type, or None when it cannot be one (so matches nothing)."""
    if isinstance(column_type, sa.Integer):
        return int(value) if DIGITS.fullmatch(value) and int(value) <= INT64_MAX else None
    if isinstance(column_type, sa.Uuid):
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            return None
        return parsed if column_type.as_uuid else str(parsed)
    if isinstance(column_type, sa.Boolean | sa.Numeric | sa.Date | sa.DateTime | sa.Time | sa.LargeBinary):
        return None  # no identifier kind is one of these; comparing a string to them only raises
    return value


def primary_key_columns(table: sa.Table, collection: Collection) -> tuple[str, ...]:
    return collection.primary_key or tuple(column.name for column in table.primary_key.columns)


def row_locator(datamap: DataMap, store: Store, collection: Collection, primary_key: tuple[str, ...],
                raw: Mapping[str, Any]) -> str:  # fmt: skip
    """`table:col=value,…` by primary key; a key column that identifies a subject appears only as a short hash."""
    if not primary_key:
        values = {field.name: raw.get(field.name) for field in collection.fields}
        return f"{collection.name}:row=#{short_hash(json.dumps(values, sort_keys=True, default=str))}"
    parts = []
    for name in primary_key:
        field = collection.field(name)
        kind = datamap.identifier_kind(store, collection, field) if field else None
        value = raw.get(name)
        if kind:
            parts.append(f"{name}=#{short_hash(normalise_identifier(kind, value) or '')}")
        else:
            parts.append(f"{name}={value}")
    return f"{collection.name}:{','.join(parts)}"


def _distinct_values(conn: sa.Connection, column: sa.Column[Any], kind: str) -> Iterator[tuple[str, str]]:
    query = sa.select(column).where(column.is_not(None)).distinct()
    for value in conn.execution_options(yield_per=SCAN_BATCH).scalars(query):
        for text in identifier_values(kind, value):
            yield kind, text
