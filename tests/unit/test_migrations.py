"""Every database's migrations give the models' schema on an empty SQLite database, and adopt the databases
create_tables made before migrations existed."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.db import make_engine
from services.common.migrations import ENVIRONMENTS, SchemaMismatch, current, differences, schema_of, upgrade
from tests.migration_checks import assert_create_tables_database_is_adopted, assert_upgrade_gives_the_models, head_of


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> sa.Engine:
    return make_engine(f"sqlite:///{tmp_path / 'service.db'}")


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_upgrade_head_on_an_empty_database_gives_the_models(name: str, sqlite_engine: sa.Engine) -> None:
    assert_upgrade_gives_the_models(name, sqlite_engine)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_a_database_made_by_create_tables_is_adopted(name: str, sqlite_engine: sa.Engine) -> None:
    assert_create_tables_database_is_adopted(name, sqlite_engine)


def test_upgrading_twice_changes_nothing(sqlite_engine: sa.Engine) -> None:
    schema = schema_of("intake")
    upgrade(schema, sqlite_engine)
    upgrade(schema, sqlite_engine)
    assert current(schema, sqlite_engine) == head_of(schema)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_the_head_read_without_alembic_is_alembics_head(name: str) -> None:
    assert schema_of(name).head() == head_of(schema_of(name)) is not None


def test_a_database_at_head_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    """The fast path is the point (Alembic and Mako are ~8 MiB a process): run in fresh interpreters, since this
    one has imported Alembic already. The first upgrade needs it; the second, on the same database, must not."""
    url = f"sqlite:///{tmp_path / 'deletion.db'}"
    script = textwrap.dedent(f"""
        import sys
        from services.common.db import make_engine
        from services.common.migrations import current, schema_of, upgrade
        schema, engine = schema_of("deletion"), make_engine({url!r})
        upgrade(schema, engine)
        print(current(schema, engine), "alembic" in sys.modules, "mako" in sys.modules)
    """)
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
            for _ in range(2)]  # fmt: skip
    head = head_of(schema_of("deletion"))
    assert [run.stdout.split() for run in runs] == [[head, "True", "True"], [head, "False", "False"]]


def test_a_database_behind_head_is_upgraded_by_alembic(sqlite_engine: sa.Engine) -> None:
    schema = schema_of("deletion")
    upgrade(schema, sqlite_engine, schema.base_revision())
    assert current(schema, sqlite_engine) == "0001"
    upgrade(schema, sqlite_engine)
    assert current(schema, sqlite_engine) == head_of(schema)
    assert differences(schema, sqlite_engine) == []


def test_a_partial_pre_migration_database_is_refused_naming_what_is_missing(sqlite_engine: sa.Engine) -> None:
    schema = schema_of("audit")
    with sqlite_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE timeline_entries (event_id VARCHAR(36) PRIMARY KEY)"))
    with pytest.raises(SchemaMismatch, match=r"timeline_entries\.request_id") as refused:
        upgrade(schema, sqlite_engine)
    assert "request_records" in str(refused.value)
    assert current(schema, sqlite_engine) is None


def test_two_services_sharing_a_database_keep_their_own_history(sqlite_engine: sa.Engine) -> None:
    upgrade(schema_of("intake"), sqlite_engine)
    upgrade(schema_of("keystore"), sqlite_engine)
    assert current(schema_of("intake"), sqlite_engine) == head_of(schema_of("intake"))
    assert current(schema_of("keystore"), sqlite_engine) == "0001"
    assert differences(schema_of("keystore"), sqlite_engine) == []


def test_an_unknown_database_is_named() -> None:
    with pytest.raises(SchemaMismatch, match="unknown database 'billing'"):
        schema_of("billing")


def test_ccpa_db_upgrade_migrates_the_services_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from services.cli import app

    key = base64.b64encode(b"k" * 32).decode()
    url = f"sqlite:///{tmp_path / 'optout.db'}"
    for name, value in {"CCPA_OPTOUT_DATABASE_URL": url, "CCPA_API_TOKEN": "t" * 32, "CCPA_SUBJECT_KEY_SECRET": key,
                        "CCPA_MASTER_KEYS": json.dumps({"a": key}), "CCPA_ACTIVE_MASTER_KEY": "a"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert "optout: at revision none" in runner.invoke(app, ["db", "current", "optout"]).output
    upgraded = runner.invoke(app, ["db", "upgrade", "optout"])
    assert upgraded.exit_code == 0 and "optout: at revision 0001" in upgraded.output
    assert differences(schema_of("optout"), make_engine(url)) == []


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_every_environment_ships_in_the_package(name: str) -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    schema = schema_of(name)
    assert "script.py.mako" in package_data[ENVIRONMENTS[name]]
    assert (schema.directory / "script.py.mako").is_file() and (schema.directory / "versions" / "__init__.py").is_file()


def test_a_new_revision_is_numbered_and_renders_the_utc_type_as_the_models_do(sqlite_engine: sa.Engine) -> None:
    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.migration import MigrationContext

    from services.common.db import UtcDateTime
    from services.common.migrations import render_item

    heads = {name: int(head_of(schema_of(name)) or 0) for name in ENVIRONMENTS}
    assert {name: schema_of(name).next_revision_id() for name in ENVIRONMENTS} == {
        name: f"{head + 1:04d}" for name, head in heads.items()
    }
    assert int(schema_of("audit").next_revision_id()) > 2  # audit has 0001, 0002 and the revisions after them
    metadata = sa.MetaData()
    sa.Table("holds", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("placed_at", UtcDateTime()))
    with sqlite_engine.connect() as connection:
        operations = produce_migrations(MigrationContext.configure(connection), metadata).upgrade_ops
    assert operations is not None
    code = render_python_code(operations, render_item=render_item)
    assert "sa.Column('placed_at', UtcDateTime()" in code
