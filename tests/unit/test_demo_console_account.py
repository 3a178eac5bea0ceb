"""`make run`'s demo operator: made once, the same password at every run (kept mode 0600), made again when the
console's database was reset, a new password when the file was lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.demo.console_account import DEMO_OPERATOR, PASSWORD_FILE, demo_operator_password
from services.common.events import utcnow
from services.console import orm
from services.console.accounts.lockout import LockoutPolicy
from services.console.accounts.signin import Outcome, SignIn
from services.console.cli import Store, console_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("CCPA_CONSOLE_DATABASE_URL", f"sqlite:///{tmp_path / 'console.db'}")
    with console_store() as opened:
        yield opened


def signs_in(store: Store, password: str) -> bool:
    attempt = SignIn(store.accounts.engine, LockoutPolicy(10, timedelta(minutes=15))).attempt(
        DEMO_OPERATOR, password, utcnow()
    )
    return attempt.outcome is Outcome.SIGNED_IN


def added(store: Store) -> int:
    with store.accounts.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(orm.outbox)).scalar_one()


def test_the_demo_operator_is_made_once_with_a_password_kept_private(tmp_path: Path, store: Store) -> None:
    first = demo_operator_password(tmp_path, store)
    assert demo_operator_password(tmp_path, store) == first
    assert (tmp_path / PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
    account = store.accounts.by_username(DEMO_OPERATOR)
    assert account is not None and account.role.value == "operator" and signs_in(store, first)
    assert added(store) == 1  # account_added on the record, once


def test_a_lost_password_file_gives_the_account_a_new_one(tmp_path: Path, store: Store) -> None:
    first = demo_operator_password(tmp_path, store)
    (tmp_path / PASSWORD_FILE).unlink()
    second = demo_operator_password(tmp_path, store)
    assert second != first and signs_in(store, second) and not signs_in(store, first)
