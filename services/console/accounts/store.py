"""Accounts in the console's own database: add, find, list, disable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.console import orm
from services.console.accounts.passwords import hash_password
from services.console.accounts.roles import Operator, Role

T = orm.operators


class AccountExists(ValueError):
    """An account with this username exists already."""


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    display_name: str
    role: Role
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    has_password: bool
    sso_linked: bool

    @classmethod
    def of(cls, row: sa.Row[Any]) -> Account:
        return cls(row.id, row.username, row.display_name, Role(row.role), bool(row.disabled), row.failed_logins,
                   row.locked_until, row.created_at, row.last_login_at, row.password_hash is not None,
                   row.oidc_subject is not None)  # fmt: skip

    def operator(self) -> Operator:
        return Operator(self.id, self.display_name, self.role)


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not 2 <= len(name) <= 200 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise ValueError("a username is 2 to 200 printable characters without spaces")
    return name


class Accounts:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, username: str, display_name: str, role: Role, password: str | None, now: datetime) -> Account:
        """A new account; raises AccountExists, or ValueError naming what is wrong with the input."""
        name = normalise_username(username)
        shown = display_name.strip()
        if not 1 <= len(shown) <= 200:
            raise ValueError("a display name is 1 to 200 characters")
        values = {"id": str(uuid.uuid4()), "username": name, "display_name": shown, "role": role.value,
                  "password_hash": hash_password(password) if password is not None else None, "disabled": False,
                  "failed_logins": 0, "created_at": now}  # fmt: skip
        with self.engine.begin() as conn:
            if conn.execute(sa.select(T.c.id).where(T.c.username == name)).first() is not None:
                raise AccountExists("an account with this username exists already")
            conn.execute(sa.insert(T).values(values))
            return Account.of(conn.execute(sa.select(T).where(T.c.id == values["id"])).one())

    def by_id(self, account_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T).where(T.c.id == account_id)).first()
        return Account.of(row) if row else None

    def by_username(self, username: str) -> Account | None:
        try:
            name = normalise_username(username)
        except ValueError:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T).where(T.c.username == name)).first()
        return Account.of(row) if row else None

    def for_identity(self, subject: str, email: str | None, now: datetime) -> Account | None:
        """The account single sign-on vouches for: the one linked to the issuer's subject, else the one whose username
        is the e-mail the issuer states, not yet linked (it is linked now, and its sign-in time kept)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(T).where(T.c.oidc_subject == subject)).first()
            if row is None and email:
                row = conn.execute(sa.select(T).where(T.c.username == email, T.c.oidc_subject.is_(None))).first()
            if row is None:
                return None
            conn.execute(sa.update(T).where(T.c.id == row.id).values(oidc_subject=subject, last_login_at=now))
            return Account.of(conn.execute(sa.select(T).where(T.c.id == row.id)).one())

    def all(self) -> list[Account]:
        with self.engine.connect() as conn:
            return [Account.of(row) for row in conn.execute(sa.select(T).order_by(T.c.username))]

    def set_password(self, account_id: str, password: str) -> bool:
        """A new password (the length rule applies); the lock-out count starts again."""
        password_hash = hash_password(password)
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(T).where(T.c.id == account_id).values(
                password_hash=password_hash, failed_logins=0, locked_until=None)).rowcount  # fmt: skip
        return bool(changed)

    def set_disabled(self, account_id: str, disabled: bool) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(T).where(T.c.id == account_id).values(disabled=disabled)).rowcount
            if disabled:
                conn.execute(sa.update(orm.sessions).where(orm.sessions.c.operator_id == account_id,
                                                           orm.sessions.c.ended_at.is_(None))
                             .values(ended_at=sa.func.now()))  # fmt: skip
        return bool(changed)
