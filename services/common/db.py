"""Database engines for a service's own store: PostgreSQL in production, SQLite by default."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite


@dataclass(frozen=True)
class PoolSize:
    """A service's connection pool: `size` kept open, `overflow` more opened under load, `timeout` seconds to wait
    for one when all are taken. No code path holds two connections of one engine at once, so a pool of one is
    slow but never stuck; the discovery and deletion e2e worlds run every service that way to prove it."""

    size: int = 10
    overflow: int = 10
    timeout: float = 30.0

    def options(self) -> dict[str, Any]:
        # LIFO: the connection checked in last is lent first, so under load the same few stay busy (and unpinged) while
        # the rest sit idle and are pinged when they are needed again.
        return {"pool_size": self.size, "max_overflow": self.overflow, "pool_timeout": self.timeout,
                "pool_use_lifo": True}  # fmt: skip


def make_engine(url: str, pool: PoolSize = PoolSize()) -> sa.Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool)
    # hide_parameters: bound values (identifiers, in the identity source) never reach logs or error messages.
    return ping_when_idle(sa.create_engine(url, hide_parameters=True, **pool.options()))


IDLE_PING_SECONDS = 1.0


def ping_when_idle(engine: sa.Engine, idle_seconds: float = IDLE_PING_SECONDS) -> sa.Engine:
    """Ping a pooled connection at checkout only when it sat idle for `idle_seconds` (a dead one is replaced before
    use), instead of `pool_pre_ping`'s `SELECT 1` before every checkout: a busy service's short transactions then
    cost one round trip less each. A connection checked in less than `idle_seconds` ago is lent unpinged; if the
    database restarted in that moment, its first statement fails (a transient OperationalError: the consumer retries,
    an API answers 503) and SQLAlchemy discards every connection opened before the failure. A connection just opened
    is not pinged."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")  # record.info is cleared when its connection is replaced
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool then opens a new connection (up to three attempts)
            raise sa.exc.DisconnectionError("a pooled connection failed its ping") from exc

    return engine


def _sqlite_engine(url: str, pool: PoolSize) -> sa.Engine:
    database = sa.engine.make_url(url).database
    in_memory = database in (None, "", ":memory:")
    if database and not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # A file database gets a QueuePool (SQLAlchemy's default for it), sized like any other; in memory it is one
    # connection per thread (SingletonThreadPool), which takes no sizing.
    sizing = {} if in_memory else pool.options()
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True,
                              **sizing)  # fmt: skip

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        # WAL lets the relay read while the API writes; NORMAL sync is durable in WAL mode across app crashes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ping(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC instants on every dialect (SQLite stores naive values and loses the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def request_id_column(**options: Any) -> sa.Column[str]:
    """A request's id (a UUID), with the table's own options (key, index, nullability)."""
    return sa.Column("request_id", sa.String(36), **options)


def subject_key_column(**options: Any) -> sa.Column[str]:
    """A subject's key (an HMAC-SHA256, hex), with the table's own options (key, index, nullability)."""
    return sa.Column("subject_key", sa.String(64), **options)


def create_tables(metadata: sa.MetaData, engine: sa.Engine, attempts: int = 3) -> None:
    """create_all that tolerates another process creating the same tables at the same moment.

    create_all checks, then creates: two services starting together against a shared database (the key store)
    can both see a table missing, and the slower one fails with "already exists". Checking again settles it.
    """
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine)
            break
        except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            if attempt == attempts or "already exists" not in str(exc.orig):
                raise
    add_missing_columns(metadata, engine)


def add_missing_columns(metadata: sa.MetaData, engine: sa.Engine) -> list[str]:
    """Add the nullable columns a table gained after its database was created (create_all only creates missing
    tables), by ALTER TABLE … ADD COLUMN; returns them as table.column. A missing NOT NULL column is refused."""
    added = []
    for table in metadata.sorted_tables:
        present = _column_names(engine, table)
        for column in (column for column in table.columns if present and column.name not in present):
            if not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name} is missing and is NOT NULL: migrate it by hand")
            _add_column(engine, table, column)
            added.append(f"{table.name}.{column.name}")
    return added


def _column_names(engine: sa.Engine, table: sa.Table) -> set[str]:
    inspector = sa.inspect(engine)
    if not inspector.has_table(table.name, schema=table.schema):
        return set()
    return {column["name"] for column in inspector.get_columns(table.name, schema=table.schema)}


def _add_column(engine: sa.Engine, table: sa.Table, column: sa.Column[Any]) -> None:
    quote = engine.dialect.identifier_preparer
    kind = column.type.compile(dialect=engine.dialect)
    statement = f"ALTER TABLE {quote.format_table(table)} ADD COLUMN {quote.quote(column.name)} {kind}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    except (sa.exc.ProgrammingError, sa.exc.OperationalError):
        if column.name not in _column_names(engine, table):  # else another process added it at the same moment
            raise


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support for the connection's dialect: the services' own databases are PostgreSQL
    (production) or SQLite (local)."""
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if conn.dialect.name not in inserts:
        raise ValueError(f"{table.name} needs PostgreSQL or SQLite for ON CONFLICT, not {conn.dialect.name}")
    return inserts[conn.dialect.name](table)
