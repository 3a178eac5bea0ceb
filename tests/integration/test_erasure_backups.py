"""The suppression ledger and the reapply after a pg_dump backup (PostgreSQL), log files and a Redis cache are
restored: the erased subject is erased again, and nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from devtools.localstack import DatabaseServer
from services.common.datamap import DataMap
from services.common.db import make_engine
from services.deletion.cli import backups_reapply
from services.deletion.erasure import Ledger, create_erasure_tables, reapply, should_suppress
from tests.erasure_world import ANN, BOB, EXPECTED, KEYS, REQUEST, SECRET, build_world, erase, state

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_world(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[DataMap, dict[str, str]]]:
    yield from build_world(pg_url, redis_url, tmp_path)


@pytest.fixture
def ledger_url(postgres_server: DatabaseServer) -> Iterator[str]:
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def test_a_restored_backup_is_erased_again_and_nothing_else(pg_world: tuple[DataMap, dict[str, str]],
                                                           ledger_url: str, tmp_path: Path) -> None:  # fmt: skip
    datamap, env = pg_world
    libpq = sa.make_url(env["APP_DB_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "app.sql"
    subprocess.run([pg_tool("pg_dump"), "--no-owner", "--file", str(dump), libpq], check=True)
    shutil.copytree(env["LOG_DIR"], tmp_path / "logs-backup", copy_function=shutil.copy2)
    cache = redis.Redis.from_url(env["REDIS_URL"])
    cache_backup = {key: (bytes(cache.dump(key) or b""), cache.pttl(key))
                    for key in cache.scan_iter(match=f"{env['KEY_PREFIX']}:*")}  # fmt: skip
    original = state(datamap, env)
    ledger_engine = make_engine(ledger_url)
    create_erasure_tables(ledger_engine)
    ledger = Ledger(ledger_engine, KEYS.ledger)
    first = erase(datamap, ANN.email)
    with ledger_engine.begin() as conn:
        assert ledger.add(conn, REQUEST, identifiers_of_erased(datamap), subject_key="sk-ann") > 0
    erased = state(datamap, env)

    with sa.create_engine(env["APP_DB_URL"]).begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    subprocess.run([pg_tool("psql"), "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), libpq], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    shutil.rmtree(env["LOG_DIR"])
    shutil.copytree(tmp_path / "logs-backup", env["LOG_DIR"], copy_function=shutil.copy2)
    for key, (dumped, ttl) in cache_backup.items():
        cache.restore(key, max(ttl, 0), dumped, replace=True)
    assert state(datamap, env) == original

    dry = reapply("app", datamap, ledger, hmac_key=KEYS.deidentify, dry_run=True)
    assert dry.outcome.counts == EXPECTED["app"] and state(datamap, env) == original
    for name in ("app", "logs"):
        again = reapply(name, datamap, ledger, hmac_key=KEYS.deidentify)
        assert again.outcome.counts == first[name].counts, name
    arguments = ["--store", "cache", "--datamap", str(tmp_path / "datamap.yaml"), "--ledger-url", ledger_url]
    result = CliRunner().invoke(cli(), arguments, env={**env, "CCPA_SUBJECT_KEY_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    assert "sessions" in result.output and "deleted" in result.output
    assert state(datamap, env) == erased
    cache.close()

    assert should_suppress(ledger, {"email": "ANN@example.com "})
    assert should_suppress(ledger, {"device_id": ["d-cat", "d-ann"]})
    assert not should_suppress(ledger, {"email": BOB.email, "account_id": "b2"})
    assert not ledger.covers("email", "a1")  # entries are per kind
    ledger_engine.dispose()


def identifiers_of_erased(datamap: DataMap) -> dict[str, frozenset[str]]:
    """What the deletion service would record: the identifiers the walk reached before the erasure."""
    return {"email": frozenset({ANN.email.lower()}), "account_id": frozenset({"a1"}),
            "order_id": frozenset({"101", "102"}), "device_id": frozenset({"d-ann"})}  # fmt: skip


def pg_tool(name: str) -> str:
    server_bin = Path("/usr/lib/postgresql/15/bin") / name
    found = shutil.which(name) or (str(server_bin) if server_bin.exists() else None)
    if found is None:
        pytest.skip(f"{name} not found")
    return found


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(backups_reapply)
    return app
