"""The migration checks run on SQLite (tests/unit/test_migrations.py) and on PostgreSQL (tests/integration)."""

from __future__ import annotations

import sqlalchemy as sa

from services.common.db import create_tables
from services.common.migrations import current, differences, schema_of, upgrade


def assert_upgrade_gives_the_models(name: str, empty_database: sa.Engine) -> None:
    """`alembic upgrade head` of environment `name` on an empty database leaves it at 0001 with the models' schema."""
    schema = schema_of(name)
    upgrade(schema, empty_database)
    assert differences(schema, empty_database) == []
    assert current(schema, empty_database) == "0001"


def assert_create_tables_database_is_adopted(name: str, empty_database: sa.Engine) -> None:
    """A database create_tables made before migrations existed is stamped at its base revision and upgraded."""
    schema = schema_of(name)
    for metadata in schema.metadata:
        create_tables(metadata, empty_database)
    upgrade(schema, empty_database)
    assert current(schema, empty_database) == schema.base_revision()
    assert differences(schema, empty_database) == []
