"""Database engines for a service's own store: PostgreSQL in production, SQLite by default."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # hide_parameters: bound values (identifiers, in the identity source) never reach logs or error messages.
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


def _sqlite_engine(url: str) -> sa.Engine:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

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


def create_tables(metadata: sa.MetaData, engine: sa.Engine, attempts: int = 3) -> None:
    """create_all that tolerates another process creating the same tables at the same moment.

    create_all checks, then creates: two services starting together against a shared database (the key store)
    can both see a table missing, and the slower one fails with "already exists". Checking again settles it.
    """
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            if attempt == attempts or "already exists" not in str(exc.orig):
                raise


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support for the connection's dialect: the services' own databases are PostgreSQL
    (production) or SQLite (local)."""
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if conn.dialect.name not in inserts:
        raise ValueError(f"{table.name} needs PostgreSQL or SQLite for ON CONFLICT, not {conn.dialect.name}")
    return inserts[conn.dialect.name](table)
