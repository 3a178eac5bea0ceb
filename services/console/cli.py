"""`ccpa console users add|list|disable`: the console's accounts, managed from an administrator's shell. Adding and
disabling go on the record (OperatorActed through the console's outbox; the actor is the command line, `unknown`
with role `none`, and the target the account's id). Exit 0 done, 1 refused (exists, unknown), 2 bad input."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from services.common.codec import codec_for
from services.common.db import make_engine
from services.common.events import utcnow
from services.common.migrations import upgrade
from services.common.outbox import Outbox
from services.common.pacific import moment_text
from services.common.topics import OPERATOR_ACTIONS, TopicNames
from services.console import orm
from services.console.accounts.roles import Role
from services.console.accounts.store import Account, AccountExists, Accounts
from services.console.actions import Accountability, Acted, Action, Result
from services.console.migrations import SCHEMA
from services.console.settings import ConsoleStoreSettings

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
HELP = None
console_app = typer.Typer(no_args_is_help=True, rich_markup_mode=HELP, help="The operator console")
users_app = typer.Typer(no_args_is_help=True, rich_markup_mode=HELP,
                        help="The console's accounts: add, list, disable")  # fmt: skip
console_app.add_typer(users_app, name="users")
out = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


@dataclass
class Store:
    accounts: Accounts
    record: Accountability


@contextmanager
def console_store() -> Iterator[Store]:
    """The console's accounts and record, its tables made if the console never ran; a refusal if unreachable."""
    settings = ConsoleStoreSettings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(SCHEMA, engine)
        topic = TopicNames(settings.topic_namespace)(OPERATOR_ACTIONS)
        # The record's rows are encoded now: in the wire format too where the services use a Schema Registry.
        outbox = Outbox(orm.outbox, codec_for(settings.schema_registry_config()))
        yield Store(Accounts(engine), Accountability(engine, outbox, topic))
    except sa.exc.OperationalError as exc:
        _fail(EXIT_REFUSED, f"the console's database did not answer ({type(exc).__name__}); nothing was changed")
    finally:
        engine.dispose()


def add_recorded(store: Store, username: str, name: str, role: Role, password: str) -> Account:
    """A new account, and account_added on the record (AccountExists, or ValueError naming the bad input)."""
    account = store.accounts.add(username, name, role, password, utcnow())
    store.record.record(None, Acted(Action.ACCOUNT_ADDED, Result.DONE, target=account.id,
                                    detail=f"role {role.value}, by ccpa console users add"))  # fmt: skip
    return account


def _fail(code: int, message: str) -> None:
    errors.print(message, markup=False)
    raise typer.Exit(code)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="What they sign in with (their e-mail is usual)")],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Their name, as the console shows it")],
    role: Annotated[Role, typer.Option("--role", help="viewer, operator or admin")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Add an account; without --password-stdin a password is generated and printed once."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(18)
    with console_store() as store:
        try:
            account = add_recorded(store, username, name, role, password)
        except AccountExists:
            _fail(EXIT_REFUSED, "an account with this username exists already; nothing was changed")
            return
        except ValueError as bad:
            _fail(EXIT_BAD_INPUT, f"not added: {bad}")
            return
    out.print(f"added {account.username} ({role.value}), account id {account.id}", markup=False)
    if not password_stdin:
        out.print(f"password (shown once, give it to them safely): {password}", markup=False)


@users_app.command("list")
def users_list() -> None:
    """Every account: username, name, role, disabled, locked, last sign-in."""
    with console_store() as store:
        accounts = store.accounts.all()
    now = utcnow()
    table = Table("username", "name", "role", "disabled", "locked", "last sign-in (Pacific)")
    for account in accounts:
        last = moment_text(account.last_login_at) if account.last_login_at else "never"
        table.add_row(account.username, account.display_name, account.role.value,
                      "yes" if account.disabled else "", _locked(account, now), last)  # fmt: skip
    out.print(table)


def _locked(account: Account, now: datetime) -> str:
    until = account.locked_until
    return f"until {moment_text(until)}" if until is not None and now < until else ""


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="The account to disable")],
) -> None:
    """Disable an account: it cannot sign in, and its sessions are ended now."""
    with console_store() as store:
        account = store.accounts.by_username(username)
        if account is None:
            _fail(EXIT_REFUSED, "no account has this username; nothing was changed")
            return
        if account.disabled:
            out.print(f"{account.username} was disabled already", markup=False)
            return
        store.accounts.set_disabled(account.id, True)
        store.record.record(None, Acted(Action.ACCOUNT_DISABLED, Result.DONE, target=account.id,
                                        detail="by ccpa console users disable; sessions ended"))  # fmt: skip
    out.print(f"disabled {account.username}; their sessions are ended", markup=False)
