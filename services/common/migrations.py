"""Schema migrations (Alembic): each database a service owns is brought to its head at start-up, one process at a
time, and a database created before migrations existed is adopted at the first revision.

Alembic (with Mako, about 8 MiB per process) is imported only when a database is behind: a service whose database
is already at head (`ccpa db upgrade` ran first, as the local stack and the test and bench pipelines do, and as an
init container may; or an earlier start did) checks the version table with one query and never loads it."""

from __future__ import annotations

import ast
import hashlib
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from services.common.db import UtcDateTime

if TYPE_CHECKING:
    from alembic.config import Config

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
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(self.directory))
        config.attributes["connection"] = connection
        return config

    def head(self) -> str | None:
        """The head revision read from versions/ without Alembic (each file's `revision` and `down_revision`
        constants); None when there is no single head, which leaves the decision to Alembic."""
        revisions: set[str] = set()
        parents: set[str] = set()
        for path in sorted((self.directory / "versions").glob("*.py")):
            constants = _module_constants(path, ("revision", "down_revision"))
            if isinstance(constants.get("revision"), str):
                revisions.add(constants["revision"])
            parent = constants.get("down_revision")
            parents.update([parent] if isinstance(parent, str) else parent if isinstance(parent, tuple) else ())
        heads = revisions - parents
        return heads.pop() if len(heads) == 1 else None

    def next_revision_id(self) -> str:
        """Revisions are numbered 0001, 0002, …: the order they apply in is visible in versions/."""
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.config()).get_current_head()
        return f"{int(head) + 1:04d}" if head is not None and head.isdigit() else "0001"

    def base_revision(self) -> str:
        from alembic.script import ScriptDirectory

        base = ScriptDirectory.from_config(self.config()).get_base()
        if base is None:
            raise SchemaMismatch(f"{self.name}: the migration environment has no revision")
        return base


def _module_constants(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The module-level `name = <literal>` assignments of a revision file (annotated or not), read, not run."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue  # not a literal: Alembic decides (head() returns None when a revision is unknown)
    return found


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
        "render_item": render_item,
    }


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerated revisions name the project's UTC column type as the models do, with its import."""
    if kind == "type" and isinstance(item, UtcDateTime):
        autogen_context.imports.add("from services.common.db import UtcDateTime")
        return "UtcDateTime()"
    return False


def upgrade(schema: Schema, engine: sa.Engine, revision: str = "head") -> None:
    """Adopt a pre-migration database if need be, then upgrade; replicas starting together take turns. A database
    already at head costs one query and no Alembic import."""
    if revision == "head" and (head := schema.head()) is not None and current(schema, engine) == head:
        return
    from alembic import command

    with engine.connect() as connection, _exclusive(connection, schema):
        adopt(schema, connection)
        command.upgrade(schema.config(connection), revision)


def differences(schema: Schema, engine: sa.Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models: [] when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=_context_options(schema, connection))
        return list(compare_metadata(context, _merged(schema)))


def current(schema: Schema, engine: sa.Engine) -> str | None:
    """The revision the database is at; None before the first upgrade (or with several heads recorded, which only
    Alembic's own commands sort out)."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(schema.version_table):
            return None
        rows = connection.execute(sa.text(f"SELECT version_num FROM {schema.version_table}")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def adopt(schema: Schema, connection: sa.Connection) -> bool:
    """Stamp a database that create_tables made before migrations existed at the first revision, when its tables
    and columns are that revision's; True when it did."""
    from alembic import command

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
    from alembic import command

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
    "console": "services.console.migrations",
    "keystore": "services.common.keystore_migrations",
}


def schema_of(name: str) -> Schema:
    """The migration environment called `name` (imported on demand: a service's schema needs only its tables)."""
    if name not in ENVIRONMENTS:
        raise SchemaMismatch(f"unknown database {name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    schema: Schema = importlib.import_module(ENVIRONMENTS[name]).SCHEMA
    return schema
