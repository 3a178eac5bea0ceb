"""On PostgreSQL: every database's migrations give the models' schema, adopt a create_tables database, and
replicas starting together migrate one at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from services.common.db import make_engine
from services.common.migrations import ENVIRONMENTS, current, schema_of, upgrade
from tests.migration_checks import assert_create_tables_database_is_adopted, assert_upgrade_gives_the_models, head_of
from tests.support import run_at_once

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database(postgres_server: DatabaseServer) -> Iterator[sa.Engine]:
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    engine = make_engine(postgres_server.create_database(name))
    yield engine
    engine.dispose()
    postgres_server.drop_database(name)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_upgrade_head_on_an_empty_database_gives_the_models(name: str, empty_database: sa.Engine) -> None:
    assert_upgrade_gives_the_models(name, empty_database)


@pytest.mark.parametrize("name", ["deletion", "keystore"])
def test_a_database_made_by_create_tables_is_adopted(name: str, empty_database: sa.Engine) -> None:
    assert_create_tables_database_is_adopted(name, empty_database)


def test_replicas_starting_together_migrate_one_at_a_time(postgres_server: DatabaseServer) -> None:
    name = f"migrations_race_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    engines = [make_engine(url) for _ in range(4)]
    errors = run_at_once(lambda engine: upgrade(schema_of("intake"), engine), engines)
    try:
        assert errors == []
        assert current(schema_of("intake"), engines[0]) == head_of(schema_of("intake"))
    finally:
        for engine in engines:
            engine.dispose()
        postgres_server.drop_database(name)
