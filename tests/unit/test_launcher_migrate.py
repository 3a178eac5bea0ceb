"""The launcher's init step: every database the services' environments name is brought to head once, and one it
cannot migrate is left to its service (which runs the same upgrade and reports the failure itself)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from devtools.local.migrate import databases_of, migrate_databases
from services.common.db import make_engine
from services.common.migrations import current, schema_of
from tests.migration_checks import head_of


def test_each_database_is_named_once_whichever_services_share_it(tmp_path: Path) -> None:
    keystore = f"sqlite:///{tmp_path / 'keystore.db'}"
    envs = [{"CCPA_INTAKE_DATABASE_URL": "sqlite:///i.db", "CCPA_KEYSTORE_URL": keystore, "CCPA_API_TOKEN": "t"},
            {"CCPA_AUDIT_DATABASE_URL": "sqlite:///a.db", "CCPA_KEYSTORE_URL": keystore},
            {"CCPA_DELETION_DATABASE_URL": ""}]  # fmt: skip
    assert databases_of(envs) == [("audit", "sqlite:///a.db"), ("intake", "sqlite:///i.db"), ("keystore", keystore)]


def test_the_databases_are_at_head_before_the_services_start(tmp_path: Path) -> None:
    urls = {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("deletion", "keystore")}
    left = migrate_databases([{"CCPA_DELETION_DATABASE_URL": urls["deletion"], "CCPA_KEYSTORE_URL": urls["keystore"]}])
    assert left == []
    for name, url in urls.items():
        assert current(schema_of(name), make_engine(url)) == head_of(schema_of(name))


def test_a_database_it_cannot_migrate_is_left_to_its_service(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with make_engine(url).begin() as conn:  # a pre-migration database missing columns: adoption is refused
        conn.execute(sa.text("CREATE TABLE timeline_entries (event_id VARCHAR(36) PRIMARY KEY)"))
    assert migrate_databases([{"CCPA_AUDIT_DATABASE_URL": url}]) == ["audit"]
    assert current(schema_of("audit"), make_engine(url)) is None
