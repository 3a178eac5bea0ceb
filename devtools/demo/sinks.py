"""Bulk writers for generation: SQL tables (SQLite executemany, PostgreSQL COPY), Redis pipelines, rotated logs.

Tables are created without secondary indexes and indexed once loaded, which is much faster than the reverse.
"""

from __future__ import annotations

import gzip
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import psycopg
import redis
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateTable

from devtools.demo.records import Row

BATCH_ROWS = 10_000
BATCH_COMMANDS = 5_000


def recreate_tables(url: str, metadata: sa.MetaData) -> None:
    """Drop the tables of `metadata` if present and create them, without secondary indexes (see `index_tables`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
        with engine.begin() as connection:
            for table in metadata.sorted_tables:
                connection.execute(CreateTable(table))
    finally:
        engine.dispose()


def index_tables(url: str, metadata: sa.MetaData) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    if connection.dialect.name in ("mysql", "mariadb") and not _plain(index):
                        _create_on_columns(connection, index)
                    else:
                        index.create(connection)
            if engine.dialect.name in ("sqlite", "postgresql"):
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _plain(index: sa.Index) -> bool:
    return all(isinstance(expression, sa.Column) for expression in index.expressions)


def _create_on_columns(connection: sa.Connection, index: sa.Index) -> None:
    """MariaDB has no indexes on expressions such as lower(email). Its text columns compare case-insensitively (a
    `…_ci` collation), so the store connector compares them as they are, and an index on the columns serves."""
    quote = connection.dialect.identifier_preparer.quote
    columns = dict.fromkeys(
        column.name
        for expression in index.expressions
        if isinstance(expression, sa.ColumnElement)
        for column in sa.sql.visitors.iterate(expression)
        if isinstance(column, sa.Column)
    )
    table = index.table
    assert table is not None
    connection.exec_driver_sql(
        f"CREATE INDEX {quote(str(index.name))} ON {quote(table.name)} ({', '.join(quote(c) for c in columns)})"
    )


class _Loader(Protocol):
    def load(self, table: sa.Table, rows: list[Row]) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


class SqlWriter:
    """Buffers rows per table and loads each batch in bulk, all in one transaction committed by `close`."""

    def __init__(self, url: str, metadata: sa.MetaData, batch_rows: int = BATCH_ROWS) -> None:
        self.tables = metadata.tables
        self.batch_rows = batch_rows
        self.counts: dict[str, int] = defaultdict(int)
        self._pending: dict[str, list[Row]] = defaultdict(list)
        self._loader = _loader_for(url)

    def __call__(self, table: str, row: Row) -> None:
        pending = self._pending[table]
        pending.append(row)
        if len(pending) >= self.batch_rows:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self._pending.pop(table, [])
        if rows:
            self._loader.load(self.tables[table], rows)
            self.counts[table] += len(rows)

    def __enter__(self) -> SqlWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is None:
                for table in list(self._pending):
                    self._flush(table)
                self._loader.commit()
        finally:
            self._loader.close()


def _loader_for(url: str) -> _Loader:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return _SqliteLoader(parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return _PostgresLoader(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    return _SqlAlchemyLoader(url)


class _SqliteLoader:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-65536")
        self.connection.execute("BEGIN")
        self._statements: dict[str, tuple[str, tuple[str, ...]]] = {}

    def load(self, table: sa.Table, rows: list[Row]) -> None:
        statement, stamps = self._statements.get(table.name) or self._prepare(table)
        for column in stamps:  # stored as SQLAlchemy's SQLite DATETIME text
            for row in rows:
                if row[column] is not None:
                    row[column] = str(row[column])
        self.connection.executemany(statement, rows)

    def _prepare(self, table: sa.Table) -> tuple[str, tuple[str, ...]]:
        names = [column.name for column in table.columns]
        statement = f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join(":" + n for n in names)})'
        stamps = tuple(column.name for column in table.columns if isinstance(column.type, sa.DateTime))
        self._statements[table.name] = (statement, stamps)
        return statement, stamps

    def commit(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.connection.close()


class _PostgresLoader:
    def __init__(self, conninfo: str) -> None:
        self.connection = psycopg.connect(conninfo)
        self.connection.execute("SET TIME ZONE 'UTC'")

    def load(self, table: sa.Table, rows: list[Row]) -> None:
        names = [column.name for column in table.columns]
        values = itemgetter(*names)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
        )
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(values(row))

    def commit(self) -> None:
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


class _SqlAlchemyLoader:
    """Any other SQLAlchemy dialect: executemany through a Core insert."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()

    def load(self, table: sa.Table, rows: list[Row]) -> None:
        self.connection.execute(table.insert(), rows)

    def commit(self) -> None:
        self.transaction.commit()

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


OWNED_KEY_PATTERNS = ("session:*", "device:*")


def clear_redis(url: str, patterns: Sequence[str] = OWNED_KEY_PATTERNS) -> int:
    """Remove the demo's keys (only those matching its key patterns) from the database of `url`."""
    client = redis.Redis.from_url(url)
    removed = 0
    try:
        for pattern in patterns:
            batch: list[Any] = []
            for key in client.scan_iter(match=pattern, count=10_000):
                batch.append(key)
                if len(batch) >= BATCH_COMMANDS:
                    removed += client.unlink(*batch)
                    batch = []
            if batch:
                removed += client.unlink(*batch)
    finally:
        client.close()
    return removed


class RedisWriter:
    """Hashes (dict values) and strings (str values) through a non-transactional pipeline, in batches."""

    def __init__(self, url: str, batch_commands: int = BATCH_COMMANDS) -> None:
        self.client = redis.Redis.from_url(url)
        self.pipeline = self.client.pipeline(transaction=False)
        self.batch_commands = batch_commands
        self.counts: dict[str, int] = defaultdict(int)
        self._queued = 0

    def add(self, key: str, value: dict[str, str] | str) -> None:
        if isinstance(value, dict):
            self.pipeline.hset(key, mapping=value)  # type: ignore[arg-type]
        else:
            self.pipeline.set(key, value)
        self.counts[key.split(":", 1)[0]] += 1
        self._queued += 1
        if self._queued >= self.batch_commands:
            self.pipeline.execute()
            self._queued = 0

    def __enter__(self) -> RedisWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is None and self._queued:
                self.pipeline.execute()
        finally:
            self.client.close()


class LogWriter:
    """JSON lines into the rotated access log files; names ending in .gz are gzip-compressed."""

    def __init__(self, log_dir: Path, names: Iterable[str]) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.names = tuple(names)
        self.counts: dict[str, int] = defaultdict(int)
        self._files: list[IO[str]] = [self._open(log_dir / name) for name in self.names]

    @staticmethod
    def _open(path: Path) -> IO[str]:
        if path.suffix == ".gz":
            return gzip.open(path, "wt", encoding="utf-8", compresslevel=5)
        return path.open("w", encoding="utf-8")

    def add(self, number: int, line: str) -> None:
        self._files[number].write(line + "\n")
        self.counts[self.names[number]] += 1

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for handle in self._files:
            handle.close()
