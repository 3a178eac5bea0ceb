"""`ccpa stack up` and the demo company: generated when absent, kept across restarts with what was deleted in it,
regenerated only on request. Runs the stack's environment step (no service is started) on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from devtools.local import stack
from devtools.local.stack import LocalStack

pytestmark = pytest.mark.integration
SUBJECTS = 20


@pytest.fixture
def stack_root(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    session_cache = f"{redis_url.rsplit('/', 1)[0]}/10"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # named, never contacted: no broker is started
    monkeypatch.setenv("DEMO_REDIS_URL", session_cache)
    monkeypatch.setattr(stack, "DEMO_SUBJECTS", SUBJECTS)
    yield tmp_path / "local"
    client = redis.Redis.from_url(session_cache)
    client.flushdb()
    client.close()


def customers(root: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{root / 'demo' / 'app.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM customers")).scalar_one())
    finally:
        engine.dispose()


def erase_first_customer(root: Path) -> None:
    """What a verified deletion leaves: the subject's customer row gone (and its session, the cache restarted)."""
    engine = sa.create_engine(f"sqlite:///{root / 'demo' / 'app.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM customers WHERE account_id = 'acct-0000000'"))
    engine.dispose()


def test_stack_up_keeps_the_existing_demo_company_and_regenerates_only_when_asked_or_absent(stack_root: Path) -> None:
    first = LocalStack(stack_root)
    first.environment()
    assert customers(stack_root) == SUBJECTS
    erase_first_customer(stack_root)
    client = redis.Redis.from_url(first.demo_target().redis_url)
    client.flushdb()  # a Redis restarted without its snapshot
    client.close()

    restarted = LocalStack(stack_root)
    restarted.environment()
    assert customers(stack_root) == SUBJECTS - 1, "a restart regenerated the demo company and undid the deletion"
    assert restarted.demo is not None and restarted.demo.reused and restarted.demo.subjects == SUBJECTS

    asked = LocalStack(stack_root)
    asked.environment(regenerate_demo=True)
    assert customers(stack_root) == SUBJECTS and asked.demo is not None and not asked.demo.reused

    (stack_root / "demo" / "app.db").unlink()
    absent = LocalStack(stack_root)
    absent.environment()
    assert customers(stack_root) == SUBJECTS and absent.demo is not None and not absent.demo.reused
