"""The console's lock-out rules and the sign-in they guard, on the console's own tables (SQLite here; concurrent
tries on PostgreSQL in tests/integration/test_console_lockout_postgres.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from services.common.db import make_engine
from services.common.migrations import upgrade
from services.console import orm
from services.console.accounts.lockout import LockoutPolicy, lock_message
from services.console.accounts.roles import Role
from services.console.accounts.signin import Outcome, SignIn
from services.console.accounts.store import Accounts
from services.console.migrations import SCHEMA

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
POLICY = LockoutPolicy(10, timedelta(minutes=15))
PASSWORD = "a password long enough"


def test_a_lock_holds_until_its_end_and_not_after() -> None:
    until = POLICY.locked_until(NOW)
    assert until == NOW + timedelta(minutes=15)
    assert POLICY.is_locked(until, NOW) and POLICY.is_locked(until, until - timedelta(seconds=1))
    assert not POLICY.is_locked(until, until) and not POLICY.is_locked(None, NOW)


def test_the_tenth_wrong_password_in_a_row_locks() -> None:
    assert [POLICY.locks(n) for n in (1, 9, 10, 11)] == [False, False, True, True]


def test_the_lock_message_says_for_a_while_without_counting_tries() -> None:
    message = lock_message(POLICY)
    assert "locked" in message and "15 minutes" in message and "10" not in message


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    upgrade(SCHEMA, engine)
    Accounts(engine).add("Pat.Operator", "Pat", Role.OPERATOR, PASSWORD, NOW)
    return engine


def test_the_right_password_signs_in_and_is_recorded_as_the_last_sign_in(engine: sa.Engine) -> None:
    attempt = SignIn(engine, POLICY).attempt("pat.operator", PASSWORD, NOW)
    assert attempt.outcome is Outcome.SIGNED_IN and attempt.account is not None
    account = Accounts(engine).by_id(attempt.account.id)
    assert account is not None and account.last_login_at == NOW


def test_an_unknown_name_and_a_wrong_password_are_told_apart_only_by_the_account(engine: sa.Engine) -> None:
    signin = SignIn(engine, POLICY)
    unknown, wrong = signin.attempt("nobody", PASSWORD, NOW), signin.attempt("pat.operator", "wrong password!", NOW)
    assert unknown.outcome is wrong.outcome is Outcome.NO_MATCH
    assert unknown.account is None and wrong.account is not None


def test_ten_wrong_passwords_lock_even_the_right_one_out_until_the_lock_ends(engine: sa.Engine) -> None:
    signin = SignIn(engine, POLICY)
    tries = [signin.attempt("pat.operator", f"wrong password {n}", NOW) for n in range(10)]
    assert [t.locked_now for t in tries] == [False] * 9 + [True]
    assert signin.attempt("pat.operator", PASSWORD, NOW + timedelta(minutes=14)).outcome is Outcome.LOCKED
    after = signin.attempt("pat.operator", PASSWORD, NOW + timedelta(minutes=15))
    assert after.outcome is Outcome.SIGNED_IN


def test_a_success_starts_the_count_again(engine: sa.Engine) -> None:
    signin = SignIn(engine, POLICY)
    for n in range(9):
        signin.attempt("pat.operator", f"wrong password {n}", NOW)
    assert signin.attempt("pat.operator", PASSWORD, NOW).outcome is Outcome.SIGNED_IN
    tries = [signin.attempt("pat.operator", f"wrong password {n}", NOW) for n in range(9)]
    assert not any(t.locked_now for t in tries)
    assert signin.attempt("pat.operator", PASSWORD, NOW).outcome is Outcome.SIGNED_IN


def test_a_disabled_account_is_refused_even_with_its_password(engine: sa.Engine) -> None:
    accounts = Accounts(engine)
    account = accounts.by_username("pat.operator")
    assert account is not None and accounts.set_disabled(account.id, True)
    assert SignIn(engine, POLICY).attempt("pat.operator", PASSWORD, NOW).outcome is Outcome.DISABLED


def test_a_hash_made_with_older_argon2_parameters_is_upgraded_at_sign_in(engine: sa.Engine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(sa.update(orm.operators).values(password_hash=weak))
    assert SignIn(engine, POLICY).attempt("pat.operator", PASSWORD, NOW).outcome is Outcome.SIGNED_IN
    with engine.connect() as conn:
        stored = conn.execute(sa.select(orm.operators.c.password_hash)).scalar_one()
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
