"""On a real PostgreSQL server: a pooled connection whose server side went away while it sat idle is pinged and
replaced at checkout, so the service's next statement runs; one used a moment ago is lent without a ping."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from services.common.db import PoolSize, make_engine, ping_when_idle
from services.common.stores.sql_connect import sql_engine


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT pg_backend_pid()")))


def _terminate(admin: sa.Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
    for _ in range(50):  # pg_terminate_backend signals; the backend is gone a moment later
        with admin.connect() as conn:
            if not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                return
        time.sleep(0.05)
    raise AssertionError("the terminated backend is still there")


def test_a_connection_killed_while_idle_is_replaced_before_use(pg_url: str) -> None:
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    for engine in (make_engine(pg_url, PoolSize(1, 0, 5.0)), sql_engine(pg_url, timeout=5.0)):
        first = _backend_pid(engine)
        _terminate(admin, first)
        time.sleep(1.2)  # past IDLE_PING_SECONDS: the checkout pings, finds it dead and opens another
        second = _backend_pid(engine)
        assert second != first
        engine.dispose()
    admin.dispose()


def test_a_connection_killed_a_moment_after_use_fails_once_then_the_pool_recovers(pg_url: str) -> None:
    """The price of not pinging a busy connection: the first statement after a server-side disconnect within the
    idle window fails as an OperationalError (transient to every consumer), and the next one runs."""
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    engine = ping_when_idle(sa.create_engine(pg_url, pool_size=1, max_overflow=0), idle_seconds=60)
    first = _backend_pid(engine)
    _terminate(admin, first)
    with pytest.raises(sa.exc.OperationalError):  # lent unpinged: it was checked in less than a minute ago
        _backend_pid(engine)
    assert _backend_pid(engine) != first
    engine.dispose()
    admin.dispose()
