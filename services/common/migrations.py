"""Schema migrations (Alembic): each database a service owns is brought to its head at start-up, one process at a
time, and a database created before migrations existed is adopted at the first revision."""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)


class SchemaMismatch(RuntimeError):
    """A database holds some of a schema's tables without a migration history, and not the first revision's."""


@dataclass(frozen=True)
class Schema:
    """One migration environment: the tables of one database kind (a service's own, or the key store)."""

    name: str
    directory: Path  # holds env.py and versions/
    metadata: tuple[sa.MetaData, ...]

    @property
    def version_table(self) -> str:
        # One version table per schema: two services pointed at one database keep separate histories.
        return f"alembic_version_{self.name}"

    def table_names(self) -> set[str]:
        return {name for metadata in self.metadata for name in metadata.tables}

    def config(self, connection: sa.Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        config.attributes["connection"] = connection
        return config

    def base_revision(self) -> str:
        base = ScriptDirectory.from_config(self.config()).get_base()
        if base is None:
            raise SchemaMismatch(f"{self.name}: the migration environment has no revision")
        return base


def run_env(context: Any, schema: Schema) -> None:
    """The body of every env.py: run the migrations on the connection the runner handed over."""
    connection: sa.Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise SchemaMismatch(f"run the {schema.name} migrations with `ccpa db upgrade {schema.name}`, not alembic")
    context.configure(connection=connection, **_context_options(schema, connection))
    with context.begin_transaction():
        context.run_migrations()


def _context_options(schema: Schema, connection: sa.Connection) -> dict[str, Any]:
    tables = schema.table_names()

    def own_tables(name: str | None, kind: str, _parent: Any) -> bool:
        return kind != "table" or name in tables  # another schema's tables in a shared database are not ours

    return {
        "target_metadata": list(schema.metadata),
        "version_table": schema.version_table,
        "render_as_batch": connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
        "include_name": own_tables,
        "compare_type": True,
    }


def upgrade(schema: Schema, engine: sa.Engine, revision: str = "head") -> None:
    """Adopt a pre-migration database if need be, then upgrade; replicas starting together take turns."""
    with engine.connect() as connection, _exclusive(connection, schema):
        adopt(schema, connection)
        command.upgrade(schema.config(connection), revision)


def differences(schema: Schema, engine: sa.Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models: [] when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=_context_options(schema, connection))
        return list(compare_metadata(context, _merged(schema)))


def current(schema: Schema, engine: sa.Engine) -> str | None:
    """The revision the database is at; None before the first upgrade."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": schema.version_table})
        return context.get_current_revision()


def adopt(schema: Schema, connection: sa.Connection) -> bool:
    """Stamp a database that create_tables made before migrations existed at the first revision, when its tables
    and columns are that revision's; True when it did."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names()) & schema.table_names()
    if inspector.has_table(schema.version_table) or not present:
        return False
    missing = _missing_columns(_base_columns(schema), inspector)
    if missing:
        raise SchemaMismatch(
            f"the {schema.name} database has tables but no migration history, and lacks the first revision's "
            f"{', '.join(missing)}: bring it there by hand (docs/operations.md, 'Migrations') or start it empty"
        )
    command.stamp(schema.config(connection), schema.base_revision())
    log.info("adopted a database created before migrations", extra={"schema": schema.name})
    return True


def _base_columns(schema: Schema) -> dict[str, set[str]]:
    """Table -> column names of the first revision, by running it on an empty in-memory SQLite database."""
    scratch = sa.create_engine("sqlite://")
    try:
        with scratch.connect() as connection:
            command.upgrade(schema.config(connection), schema.base_revision())
            connection.commit()
            inspector = sa.inspect(connection)
            return {t: {c["name"] for c in inspector.get_columns(t)} for t in schema.table_names()
                    if inspector.has_table(t)}  # fmt: skip
    finally:
        scratch.dispose()


def _missing_columns(expected: dict[str, set[str]], inspector: sa.Inspector) -> list[str]:
    missing = []
    for table, columns in sorted(expected.items()):
        if not inspector.has_table(table):
            missing.append(table)
            continue
        present = {column["name"] for column in inspector.get_columns(table)}
        missing.extend(f"{table}.{column}" for column in sorted(columns - present))
    return missing


def _merged(schema: Schema) -> sa.MetaData:
    merged = sa.MetaData()
    for metadata in schema.metadata:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


@contextmanager
def _exclusive(connection: sa.Connection, schema: Schema) -> Iterator[None]:
    """One transaction holding a lock no other migrating process of this schema can hold: PostgreSQL's advisory
    lock for the transaction, SQLite's write lock (BEGIN IMMEDIATE); everything runs in it, then commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _lock_key(schema: Schema) -> int:
    digest = hashlib.sha256(f"ccpa-migrations:{schema.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# The migration environments, by the name `ccpa db upgrade` takes: each service's database and the key store.
ENVIRONMENTS = {
    "intake": "services.intake.migrations",
    "audit": "services.audit.migrations",
    "optout": "services.optout.migrations",
    "discovery": "services.discovery.migrations",
    "deletion": "services.deletion.migrations",
    "keystore": "services.common.keystore_migrations",
}


def schema_of(name: str) -> Schema:
    """The migration environment called `name` (imported on demand: a service's schema needs only its tables)."""
    if name not in ENVIRONMENTS:
        raise SchemaMismatch(f"unknown database {name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    schema: Schema = importlib.import_module(ENVIRONMENTS[name]).SCHEMA
    return schema
