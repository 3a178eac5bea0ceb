"""Signing in with a username and password: the argon2 check, the lock-out counted atomically in the database (a
wrong password adds one in the row's own UPDATE, so concurrent tries all count), and the hash upgraded when the
argon2 parameters changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from services.console import orm
from services.console.accounts.lockout import LockoutPolicy
from services.console.accounts.passwords import matches, needs_rehash, rehash
from services.console.accounts.store import Account, normalise_username

T = orm.operators


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    NO_MATCH = "no_match"  # no such account, or the wrong password: the page says the same for both
    LOCKED = "locked"  # locked by earlier wrong passwords: refused even with the right one
    DISABLED = "disabled"  # the right password of a disabled account


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    account: Account | None  # None when no account has the name typed
    locked_now: bool = False  # this wrong password locked the account


class SignIn:
    def __init__(self, engine: sa.Engine, policy: LockoutPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def attempt(self, username: str, password: str, now: datetime) -> Attempt:
        row = self._row(username)
        if row is None:
            matches(None, password)  # the same argon2 work as for a real account: timing tells nothing
            return Attempt(Outcome.NO_MATCH, None)
        account = Account.of(row)
        if self.policy.is_locked(row.locked_until, now):
            return Attempt(Outcome.LOCKED, account)
        right = matches(row.password_hash, password)
        if row.disabled:
            return Attempt(Outcome.DISABLED if right else Outcome.NO_MATCH, account)
        if not right:
            return Attempt(Outcome.NO_MATCH, account, locked_now=self._count_failure(account.id, now))
        self._succeeded(account.id, row.password_hash, password, now)
        return Attempt(Outcome.SIGNED_IN, account)

    def _row(self, username: str) -> sa.Row[Any] | None:
        try:
            name = normalise_username(username)
        except ValueError:
            return None
        with self.engine.connect() as conn:
            return conn.execute(sa.select(T).where(T.c.username == name)).first()

    def _count_failure(self, account_id: str, now: datetime) -> bool:
        """One more wrong password; whether it locked the account. The increment is the UPDATE's own (the row stays
        locked to this transaction until it commits), so concurrent wrong tries each count exactly once."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(T).where(T.c.id == account_id).values(failed_logins=T.c.failed_logins + 1))
            row = conn.execute(sa.select(T.c.failed_logins, T.c.locked_until).where(T.c.id == account_id)).one()
            if self.policy.is_locked(row.locked_until, now) or not self.policy.locks(row.failed_logins):
                return False
            # The lock starts a new count: once it is over, it takes as many wrong passwords again to lock.
            conn.execute(sa.update(T).where(T.c.id == account_id)
                         .values(locked_until=self.policy.locked_until(now), failed_logins=0))  # fmt: skip
            return True

    def _succeeded(self, account_id: str, password_hash: str, password: str, now: datetime) -> None:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if needs_rehash(password_hash):
            values["password_hash"] = rehash(password)
        with self.engine.begin() as conn:
            conn.execute(sa.update(T).where(T.c.id == account_id).values(values))
