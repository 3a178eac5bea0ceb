"""`ccpa console users add|list|disable` on a console database of its own: one-line refusals with their exit codes,
and adding and disabling on the record (OperatorActed in the console's outbox, valid under its contract)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from services.cli import cli
from services.common import contracts
from services.common.db import make_engine
from services.common.events import utcnow
from services.common.serde import SingleObjectCodec
from services.console import orm
from services.console.accounts.sessions import SessionPolicy, Sessions
from services.console.accounts.store import Accounts


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'console.db'}"


def run(database: str, *arguments: str, stdin: str | None = None) -> Result:
    env = {"CCPA_CONSOLE_DATABASE_URL": database, "CCPA_LOCAL_DIR": "/nonexistent-stack"}
    return CliRunner().invoke(cli(), ["console", "users", *arguments], env=env, input=stdin)


def recorded(database: str) -> list[dict[str, Any]]:
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(orm.outbox.c.message_value).order_by(orm.outbox.c.id)).scalars().all()
    finally:
        engine.dispose()
    events = [SingleObjectCodec().decode(row) for row in rows]
    for event in events:
        contracts.check(event)  # raises on a breach
    return [{"subject": event.subject_key, **asdict(event.payload)} for event in events]


def test_an_account_is_added_with_a_generated_password_shown_once_and_on_the_record(database: str) -> None:
    result = run(database, "add", "Pat@Example.test", "--name", "Pat Doe", "--role", "operator")
    assert result.exit_code == 0, result.output
    password = result.output.split("password (shown once, give it to them safely): ")[1].strip()
    assert len(password) >= 20
    account = Accounts(make_engine(database)).by_username("pat@example.test")
    assert account is not None and account.role.value == "operator"
    [added] = recorded(database)
    assert added["action"] == "account_added" and added["actor_id"] == "unknown" and added["actor_role"] == "none"
    assert added["target"] == account.id and added["subject"] == "none"
    assert "pat" not in str(added).lower()


def test_a_password_from_stdin_is_used_and_not_printed(database: str) -> None:
    result = run(database, "add", "sam", "--name", "Sam", "--role", "viewer", "--password-stdin",
                 stdin="a password of my own\n")  # fmt: skip
    assert result.exit_code == 0 and "a password of my own" not in result.output


@pytest.mark.parametrize(("arguments", "stdin", "code", "said"), [
    (("add", "sam", "--name", "Sam", "--role", "viewer", "--password-stdin"), "short\n", 2, "at least 12"),
    (("add", "two words", "--name", "Sam", "--role", "viewer"), None, 2, "without spaces"),
    (("add", "taken", "--name", "Sam", "--role", "viewer"), None, 1, "exists already"),
    (("disable", "nobody"), None, 1, "no account has this username"),
])  # fmt: skip
def test_refusals_are_one_line_with_their_exit_code(database: str, arguments: tuple[str, ...], stdin: str | None,
                                                    code: int, said: str) -> None:  # fmt: skip
    assert run(database, "add", "taken", "--name", "T", "--role", "viewer").exit_code == 0
    result = run(database, *arguments, stdin=stdin)
    assert result.exit_code == code and said in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_disabling_ends_the_accounts_sessions_and_is_on_the_record(database: str) -> None:
    assert run(database, "add", "lee", "--name", "Lee", "--role", "admin").exit_code == 0
    engine = make_engine(database)
    account = Accounts(engine).by_username("lee")
    assert account is not None
    sessions = Sessions(engine, SessionPolicy(timedelta(hours=8), timedelta(minutes=30)))
    token = sessions.start(account.id, utcnow())
    result = run(database, "disable", "lee")
    assert result.exit_code == 0, result.output
    assert sessions.resolve(token, utcnow()) is None
    assert [event["action"] for event in recorded(database)] == ["account_added", "account_disabled"]
    listing = run(database, "list")
    assert listing.exit_code == 0 and "lee" in listing.output and "yes" in listing.output
