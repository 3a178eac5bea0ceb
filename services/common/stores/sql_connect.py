"""Connecting to a SQL store, in one place for every service: engines (pools, timeouts, read-only sessions, hidden
parameters), reflection of tables and collations, quoting of table names, and failure reasons without values.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from services.common.db import ping_when_idle
from services.common.logs import scrub

# Indexes on expressions, such as lower(email), are not reflected by every dialect. Reflection here needs only
# columns and keys, so that warning says nothing useful (and catch_warnings is not thread-safe, hence global).
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning)
LOWER = re.compile(r'lower\s*\(\s*\(?\s*["`\[]?(\w+)["`\]]?\s*\)?(?:::text)?\s*\)', re.I)
NOCASE = re.compile(r"\bCOLLATE\s+\"?NOCASE\b", re.I)
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


class NoSuchDatabase(Exception):
    """A SQLite file opened only to be read is missing: opening it would create an empty database that reads clean."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no SQLite database at {path}")
        self.path = path


def sql_engine(url: str, timeout: float, read_only: bool = True, must_exist: bool = False) -> sa.Engine:
    """An engine that pings the connections that sat idle (`ping_when_idle`), with connect and statement timeouts
    where the dialect has them, and hidden parameters.

    `must_exist` (read-only SQLite): the file is opened read-only and must be there (NoSuchDatabase otherwise).
    """
    parsed = make_url(url)
    parsed = parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))
    backend = parsed.get_backend_name()
    # hide_parameters: identifier values never reach an exception message or a log line.
    options: dict[str, Any] = {"hide_parameters": True}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": timeout, "check_same_thread": False}
        if must_exist and read_only:
            return _existing_sqlite(parsed, timeout, options)
    else:
        options |= {"pool_size": 4, "max_overflow": 4, "pool_timeout": timeout, "pool_use_lifo": True}
        options["connect_args"] = _network_connect_args(parsed, timeout, read_only)
    engine = ping_when_idle(sa.create_engine(parsed, **options))
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_query_only if read_only else _sqlite_secure_delete)
    return engine


def _existing_sqlite(url: URL, timeout: float, options: dict[str, Any]) -> sa.Engine:
    if not url.database or url.database == ":memory:":
        return sa.create_engine("sqlite://", **options)
    path = Path(url.database)
    if not path.is_file():
        raise NoSuchDatabase(path)
    uri = f"{path.resolve().as_uri().replace('file://', 'file:', 1)}?mode=ro"
    options.pop("connect_args")
    return sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False),
        **options,
    )


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


class ReflectedTables:
    """Tables and their case-insensitive columns as the database describes them, each read once (thread-safe)."""

    def __init__(self) -> None:
        self._tables: dict[str, sa.Table] = {}
        self._folded: dict[str, frozenset[str]] = {}
        self._lower_indexed: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def table(self, conn: sa.Connection, qualified_name: str) -> sa.Table:
        with self._lock:
            if qualified_name not in self._tables:
                self._tables[qualified_name] = reflect_table(conn, qualified_name)
            return self._tables[qualified_name]

    def case_insensitive_columns(self, conn: sa.Connection, qualified_name: str) -> frozenset[str]:
        with self._lock:
            if qualified_name not in self._folded:
                self._folded[qualified_name] = case_insensitive_columns(conn, qualified_name)
            return self._folded[qualified_name]

    def lower_indexed_columns(self, conn: sa.Connection, qualified_name: str) -> frozenset[str]:
        with self._lock:
            if qualified_name not in self._lower_indexed:
                self._lower_indexed[qualified_name] = lower_indexed_columns(conn, qualified_name)
            return self._lower_indexed[qualified_name]


def reflect_table(conn: sa.Connection, qualified_name: str) -> sa.Table:
    """The table as the database describes it (`schema.table` or `table`)."""
    schema, _, name = qualified_name.rpartition(".")
    return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)


def case_insensitive_columns(conn: sa.Connection, qualified_name: str) -> frozenset[str]:
    """Text columns of the table whose collation ignores case: `…_ci` (MySQL/MariaDB), citext or a nondeterministic
    collation (PostgreSQL), COLLATE NOCASE (SQLite)."""
    if conn.dialect.name == "postgresql":
        return _postgres_case_insensitive(conn, qualified_name)
    if conn.dialect.name == "sqlite":
        return _sqlite_nocase(conn, qualified_name)
    if conn.dialect.name not in ("mysql", "mariadb"):
        return frozenset()
    schema, _, name = qualified_name.rpartition(".")
    rows = conn.execute(
        sa.text("SELECT column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = COALESCE(:schema, DATABASE()) AND table_name = :name"),
        {"schema": schema or None, "name": name},
    )  # fmt: skip
    return frozenset(column for column, collation in rows if collation and collation.lower().endswith("_ci"))


def _postgres_case_insensitive(conn: sa.Connection, qualified_name: str) -> frozenset[str]:
    rows = conn.execute(
        sa.text("SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "LEFT JOIN pg_collation c ON c.oid = a.attcollation "
                "WHERE a.attrelid = CAST(:name AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
                "AND (t.typname = 'citext' OR c.collisdeterministic IS FALSE)"),
        {"name": qualified_name},
    )  # fmt: skip
    return frozenset(name for (name,) in rows)


def _sqlite_nocase(conn: sa.Connection, qualified_name: str) -> frozenset[str]:
    _schema, _, name = qualified_name.rpartition(".")
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                       {"name": name}).scalar()  # fmt: skip
    body = (sql or "").partition("(")[2].rpartition(")")[0]
    parts = [part.split() for part in body.split(",")]
    return frozenset(part[0].strip('"`[]') for part in parts if part and NOCASE.search(" ".join(part[1:])))


def lower_indexed_columns(conn: sa.Connection, qualified_name: str) -> frozenset[str]:
    """Columns with an index on lower(column) (PostgreSQL, SQLite): a lower(column) look-up uses it."""
    schema, _, name = qualified_name.rpartition(".")
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :name"),
                            {"name": name}).scalars()  # fmt: skip
        expressions = [sql for sql in rows if sql]
    elif conn.dialect.name == "postgresql":
        indexes = sa.inspect(conn).get_indexes(name, schema=schema or None)
        expressions = [text for index in indexes for text in index.get("expressions") or [] if text]
    else:
        return frozenset()
    found = (LOWER.search(text) for text in expressions)
    return frozenset(match.group(1) for match in found if match)


def quoted_tables(conn: sa.Connection, tables: Iterable[sa.Table]) -> list[str]:
    """Table names quoted by the dialect, for the statements SQLAlchemy cannot build (VACUUM, OPTIMIZE TABLE)."""
    return [conn.dialect.identifier_preparer.format_table(table) for table in tables]


def failure_reason(exc: sa.exc.DBAPIError | sa.exc.TimeoutError) -> str:
    """The driver's first line, without the statement, parameters or URL (SQLAlchemy appends those after it), and
    with emails and phone numbers masked: MySQL puts the offending value in that line ("Duplicate entry 'a@b.c' for
    key 'email'"), and the reason travels on topics and the timeline."""
    if isinstance(exc, sa.exc.TimeoutError):
        return "no free connection in the pool in time"
    origin = exc.orig if exc.orig is not None else exc
    first_line = (str(origin).strip().splitlines() or [""])[0]
    return scrub(f"{type(origin).__name__}: {first_line}")[:200]
