"""Services' own engines run without pre-ping (one round trip less per checkout): a connection killed under the
pool fails one statement, and the pool reconnects for the next one instead of failing forever."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.common.db import make_engine


def test_a_killed_pooled_connection_fails_once_then_the_pool_reconnects(pg_url: str) -> None:
    engine = make_engine(pg_url)
    killer = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        assert engine.pool._pre_ping is False  # type: ignore[attr-defined]
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
        with pytest.raises(sa.exc.DBAPIError) as failed, engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert failed.value.connection_invalidated
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
        killer.dispose()
