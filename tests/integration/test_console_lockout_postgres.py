"""Wrong passwords tried at once on PostgreSQL each count exactly once, and the account is locked exactly once (one
`account_locked` on the record, not one per racing try)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from services.common.db import make_engine
from services.common.migrations import upgrade
from services.console.accounts.lockout import LockoutPolicy
from services.console.accounts.roles import Role
from services.console.accounts.signin import Attempt, Outcome, SignIn
from services.console.accounts.store import Accounts
from services.console.migrations import SCHEMA
from tests.support import run_at_once

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
POLICY = LockoutPolicy(10, timedelta(minutes=15))
PASSWORD = "the right password, at last"


@pytest.fixture
def console_db(postgres_server: DatabaseServer) -> Iterator[sa.Engine]:
    name = f"console_lockout_{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres_server.create_database(name))
    upgrade(SCHEMA, engine)
    Accounts(engine).add("pat", "Pat", Role.OPERATOR, PASSWORD, NOW)
    yield engine
    engine.dispose()
    postgres_server.drop_database(name)


def tries_at_once(engine: sa.Engine, count: int) -> list[Attempt]:
    signin, gate, attempts = SignIn(engine, POLICY), threading.Barrier(count), []
    lock = threading.Lock()

    def wrong(n: int) -> None:
        gate.wait()
        attempt = signin.attempt("pat", f"wrong password {n}", NOW)
        with lock:
            attempts.append(attempt)

    assert run_at_once(wrong, list(range(count))) == []
    return attempts


def test_concurrent_wrong_passwords_each_count(console_db: sa.Engine) -> None:
    tries_at_once(console_db, 9)
    account = Accounts(console_db).by_username("pat")
    assert account is not None and account.failed_logins == 9 and account.locked_until is None


def test_concurrent_wrong_passwords_lock_once(console_db: sa.Engine) -> None:
    attempts = tries_at_once(console_db, 16)
    assert sum(attempt.locked_now for attempt in attempts) == 1
    assert SignIn(console_db, POLICY).attempt("pat", PASSWORD, NOW).outcome is Outcome.LOCKED
