"""A service's connection pool is sized from its settings, and a step that takes a second connection while holding
one fails on a pool of one instead of passing by luck (the e2e worlds run every service that way)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from services.common.db import PoolSize, make_engine
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
