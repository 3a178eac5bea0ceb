"""The migration checks run on SQLite (tests/unit/test_migrations.py) and on PostgreSQL (tests/integration)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from services.common.db import create_tables
from services.common.migrations import Schema, current, differences, schema_of, upgrade


def head_of(schema: Schema) -> str | None:
    return ScriptDirectory.from_config(schema.config()).get_current_head()


def pre_migration_database(schema: Schema, engine: sa.Engine) -> None:
    """What create_tables made before migrations existed: the tables of the first revision, no history. With
    one revision that is the models; with later ones, the models are ahead of such a database."""
    if head_of(schema) == schema.base_revision():
        for metadata in schema.metadata:
            create_tables(metadata, engine)
        return
    upgrade(schema, engine, schema.base_revision())
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {schema.version_table}"))


def assert_upgrade_gives_the_models(name: str, empty_database: sa.Engine) -> None:
    """`alembic upgrade head` of environment `name` on an empty database leaves it at head with the models' schema."""
    schema = schema_of(name)
    upgrade(schema, empty_database)
    assert differences(schema, empty_database) == []
    assert current(schema, empty_database) == head_of(schema)


def assert_create_tables_database_is_adopted(name: str, empty_database: sa.Engine) -> None:
    """A database create_tables made before migrations existed is stamped at its base revision and upgraded."""
    schema = schema_of(name)
    pre_migration_database(schema, empty_database)
    upgrade(schema, empty_database)
    assert current(schema, empty_database) == head_of(schema)
    assert differences(schema, empty_database) == []
