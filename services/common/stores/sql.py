"""SQL store connector (SQLAlchemy Core; PostgreSQL, SQLite, MySQL/MariaDB): reflected tables, bound IN lists.

Identifier values only ever travel as bound parameters, converted to the column's type first: a value that is not
a valid integer for an integer column is dropped, so nothing shaped like SQL can change a query.

A row matches when its column holds one of the values exactly (emails: lower-cased), on every dialect. PostgreSQL
and SQLite compare exactly, so emails are compared as `lower(column)` (give the column an index on that
expression). On MySQL/MariaDB a text column's collation is usually case-insensitive (`…_ci`): the column is then
compared as it is, so a plain index on it serves the look-up (`lower(column)` would scan the table, as MariaDB has
no indexes on expressions), and the rows the collation matches too loosely (accents, trailing spaces, other case
for kinds that are not emails) are dropped after the read.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from services.common.datamap.model import Collection, DataMap, Store
from services.common.logs import scrub
from services.common.stores.base import FoundRecord, Identifiers, StoreUnavailable
from services.common.stores.values import (
    SearchField,
    batched,
    normalise_identifier,
    occurred_at,
    record_values,
    search_fields,
    searched_collections,
    short_hash,
)

log = logging.getLogger(__name__)
# Indexes on expressions, such as lower(email), are not reflected by every dialect. Reflection here needs only
# columns and keys, so that warning says nothing useful (and catch_warnings is not thread-safe, hence global).
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
BATCH_SIZE = 500
INT64_MAX = 2**63 - 1
DIGITS = re.compile(r"[0-9]{1,19}")
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


class SqlConnector:
    def __init__(self, datamap: DataMap, store: Store, read_only: bool = True) -> None:
        if not store.url:
            raise ValueError(f"store {store.name}: a sql store needs `url`")
        self.datamap = datamap
        self.store = store
        self.engine = sql_engine(store.url, store.timeout_seconds, read_only)
        self._tables: dict[str, sa.Table] = {}
        self._folded: dict[str, frozenset[str]] = {}
        self._reflecting = threading.Lock()

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        found: dict[tuple[str, str], FoundRecord] = {}
        try:
            with self.engine.connect() as conn:
                for collection in searched_collections(self.store):
                    for record in self._search_collection(conn, collection, identifiers):
                        found.setdefault((record.collection, record.locator), record)
        except sa.exc.NoSuchTableError as exc:
            raise StoreUnavailable(
                self.store.name, f"table {exc.args[0]!r} named in the data map does not exist"
            ) from None
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(self.store.name, failure_reason(exc)) from None
        return list(found.values())

    def close(self) -> None:
        self.engine.dispose()

    def _search_collection(self, conn: sa.Connection, collection: Collection,
                           identifiers: Identifiers) -> Iterator[FoundRecord]:  # fmt: skip
        targets = search_fields(self.datamap, self.store, collection, identifiers)
        if not targets:
            return
        table = self._table(conn, collection)
        columns = self._selected_columns(table, collection)
        folded = self.case_insensitive_columns(conn, collection)
        for target in targets:
            for raw in matching_rows(conn, table, columns, target, folded):
                yield FoundRecord(self.store.name, collection.name, self._locator(table, collection, raw),
                                  record_values(collection, raw), occurred_at(collection, raw))  # fmt: skip

    def _table(self, conn: sa.Connection, collection: Collection) -> sa.Table:
        with self._reflecting:
            if collection.name not in self._tables:
                self._tables[collection.name] = reflect_table(conn, collection.name)
            return self._tables[collection.name]

    def case_insensitive_columns(self, conn: sa.Connection, collection: Collection) -> frozenset[str]:
        """Columns of the collection's table whose collation ignores case (MySQL/MariaDB), read once."""
        with self._reflecting:
            if collection.name not in self._folded:
                self._folded[collection.name] = case_insensitive_columns(conn, collection.name)
            return self._folded[collection.name]

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


def sql_engine(url: str, timeout: float, read_only: bool = True) -> sa.Engine:
    """An engine with pre-ping, connect and statement timeouts where the dialect has them, and hidden parameters."""
    parsed = make_url(url)
    parsed = parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))
    backend = parsed.get_backend_name()
    # hide_parameters: identifier values never reach an exception message or a log line.
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": timeout, "check_same_thread": False}
    else:
        options |= {"pool_size": 4, "max_overflow": 4, "pool_timeout": timeout}
        options["connect_args"] = _network_connect_args(parsed, timeout, read_only)
    engine = sa.create_engine(parsed, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_query_only if read_only else _sqlite_secure_delete)
    return engine


def _network_connect_args(url: URL, timeout: float, read_only: bool) -> dict[str, Any]:
    seconds = max(1, math.ceil(timeout))
    if url.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={int(timeout * 1000)}"
        if read_only:
            options += " -c default_transaction_read_only=on"
        return {"connect_timeout": seconds, "options": options}
    if url.get_backend_name() in ("mysql", "mariadb"):
        args: dict[str, Any] = {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
        if read_only:
            args["init_command"] = "SET SESSION TRANSACTION READ ONLY"
        return args
    return {}


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _sqlite_secure_delete(dbapi_connection: Any, _record: Any) -> None:
    # Deleted rows and replaced values are overwritten with zeros in the page (and freed pages zeroed) instead of
    # lingering in free space; not every SQLite build turns it on by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def reflect_table(conn: sa.Connection, qualified_name: str) -> sa.Table:
    """The table as the database describes it (`schema.table` or `table`)."""
    schema, _, name = qualified_name.rpartition(".")
    return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)


def case_insensitive_columns(conn: sa.Connection, qualified_name: str) -> frozenset[str]:
    """Text columns of the table whose collation ignores case (`…_ci`, MySQL/MariaDB); none on other dialects."""
    if conn.dialect.name not in ("mysql", "mariadb"):
        return frozenset()
    schema, _, name = qualified_name.rpartition(".")
    rows = conn.execute(
        sa.text("SELECT column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = COALESCE(:schema, DATABASE()) AND table_name = :name"),
        {"schema": schema or None, "name": name},
    )  # fmt: skip
    return frozenset(column for column, collation in rows if collation and collation.lower().endswith("_ci"))


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


def _stored_as(kind: str, value: Any) -> Any:
    return value.lower() if kind == "email" and isinstance(value, str) else value


def search_queries(table: sa.Table, columns: list[sa.ColumnElement[Any]], target: SearchField,
                   case_insensitive: bool = False) -> Iterator[sa.Select[Any]]:  # fmt: skip
    """SELECT the columns WHERE the target column IN (bound values), in batches of at most BATCH_SIZE.

    Emails are compared as lower(column), unless the column's collation already ignores case (`case_insensitive`:
    see `matching_rows`, which then drops the rows such a collation matches too loosely).
    """
    column = table.c[target.field.name]
    matched: sa.ColumnElement[Any] = column
    if target.kind == "email" and isinstance(column.type, sa.String) and not case_insensitive:
        matched = sa.func.lower(column)
    for batch in batched(_converted(column, target), BATCH_SIZE):
        yield sa.select(*columns).where(matched.in_(list(batch)))


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


def failure_reason(exc: sa.exc.DBAPIError | sa.exc.TimeoutError) -> str:
    """The driver's first line, without the statement, parameters or URL (SQLAlchemy appends those after it), and
    with emails and phone numbers masked: MySQL puts the offending value in that line ("Duplicate entry 'a@b.c' for
    key 'email'"), and the reason travels on topics and the timeline."""
    if isinstance(exc, sa.exc.TimeoutError):
        return "no free connection in the pool in time"
    origin = exc.orig if exc.orig is not None else exc
    first_line = (str(origin).strip().splitlines() or [""])[0]
    return scrub(f"{type(origin).__name__}: {first_line}")[:200]
