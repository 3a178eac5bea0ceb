"""A service's connection pool is sized from its settings, and a step that takes a second connection while holding
one fails on a pool of one instead of passing by luck (the e2e worlds run every service that way)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from services.common.db import PoolSize, make_engine, ping_when_idle
from services.deletion.settings import DeletionSettings

KEY = base64.b64encode(b"k" * 32).decode()
SECRETS = {"CCPA_API_TOKEN": "t" * 32, "CCPA_SUBJECT_KEY_SECRET": KEY, "CCPA_MASTER_KEYS": json.dumps({"a": KEY}),
           "CCPA_ACTIVE_MASTER_KEY": "a"}  # fmt: skip


def test_the_pool_is_sized_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SECRETS, "CCPA_DATABASE_POOL_SIZE": "3", "CCPA_DATABASE_MAX_OVERFLOW": "0",
                        "CCPA_DATABASE_POOL_TIMEOUT": "2.5"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert DeletionSettings().database_pool() == PoolSize(3, 0, 2.5)


def test_defaults_and_bad_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert DeletionSettings().database_pool() == PoolSize(10, 10, 30.0)
    monkeypatch.setenv("CCPA_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="CCPA_DATABASE_POOL_SIZE"):
        DeletionSettings()


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_sqlite_engines_take_the_size(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}" if kind == "file" else "sqlite://"
    engine = make_engine(url, PoolSize(2, 1, 0.2))
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT 1")) == 1
    if kind == "file":
        assert isinstance(engine.pool, sa.pool.QueuePool)
        assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (2, 1, 0.2)
    engine.dispose()


def test_a_second_connection_while_holding_the_only_one_times_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}", PoolSize(1, 0, 0.2))
    with engine.begin() as held:
        held.execute(sa.text("SELECT 1"))
        with pytest.raises(sa.exc.TimeoutError), engine.connect():
            pass
    with engine.connect() as again:  # returned, so free again
        assert again.scalar(sa.text("SELECT 2")) == 2
    engine.dispose()


def _counting_pings(engine: sa.Engine, fail: bool = False) -> list[int]:
    """Counts the pings the engine's checkouts make (and makes them fail when `fail`)."""
    pings: list[int] = []

    def do_ping(_dbapi_connection: object) -> bool:
        pings.append(1)
        if fail:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return True

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]
    return pings


def test_only_a_connection_that_sat_idle_is_pinged(tmp_path: Path) -> None:
    engine = ping_when_idle(sa.create_engine(f"sqlite:///{tmp_path / 'service.db'}", pool_size=1, max_overflow=0),
                            idle_seconds=0.2)  # fmt: skip
    pings = _counting_pings(engine)
    for _ in range(3):  # a new connection, then one checked in a moment ago
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    assert pings == []
    time.sleep(0.3)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert pings == [1]
    engine.dispose()


def test_an_idle_connection_that_fails_its_ping_is_replaced_before_use(tmp_path: Path) -> None:
    engine = ping_when_idle(sa.create_engine(f"sqlite:///{tmp_path / 'service.db'}", pool_size=1, max_overflow=0),
                            idle_seconds=0.05)  # fmt: skip
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
    time.sleep(0.1)
    pings = _counting_pings(engine, fail=True)
    with engine.connect() as conn:  # the failed ping replaced it: the new one is not pinged
        assert conn.scalar(sa.text("SELECT 7")) == 7
        assert conn.connection.dbapi_connection is not first
    assert pings == [1]
    engine.dispose()


def test_service_pools_lend_the_last_returned_connection_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}", PoolSize(3, 0, 1.0))
    a, b = engine.connect(), engine.connect()
    b_raw = b.connection.dbapi_connection
    a.close()
    b.close()  # returned last
    with engine.connect() as again:
        assert again.connection.dbapi_connection is b_raw
    engine.dispose()
