"""The demo's operator account for the console: `demo-operator` (role operator), made once with a generated
password kept in .local (mode 0600), the same at every `make run`; made again if the console's database was reset."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.console.accounts.roles import Role
from services.console.cli import Store, add_recorded

DEMO_OPERATOR = "demo-operator"
PASSWORD_FILE = "console-demo-operator.password"


def demo_operator_password(root: Path, store: Store) -> str:
    """The demo operator's password, the account made (and on the record) when absent."""
    path = root / PASSWORD_FILE
    password = path.read_text().strip() if path.exists() else ""
    account = store.accounts.by_username(DEMO_OPERATOR)
    if not password:
        password = secrets.token_urlsafe(18)
        _write_private(path, password)
        if account is not None:  # the file was lost: the account gets the new password
            store.accounts.set_password(account.id, password)
    if account is None:
        add_recorded(store, DEMO_OPERATOR, "Demo Operator", Role.OPERATOR, password)
    return password


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as sink:
        sink.write(text + "\n")
    path.chmod(0o600)
