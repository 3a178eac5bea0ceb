"""Posting the console's forms as a browser does: the CSRF cookie and token from a page, then the form with it.

httpx keeps Secure cookies for https only, and the test console is http://127.0.0.1 (a browser treats loopback as
secure): the cookies each answer sets are copied into the client's jar as plain ones."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from services.common.events import utcnow
from services.console.accounts.roles import Role
from services.console.accounts.store import Accounts
from tests.e2e.console.conftest import PASSWORD, ConsoleWorld, Person

FORM_TOKEN = re.compile(r'name="csrftoken" value="([^"]+)"')


def keep_cookies(client: httpx.Client, response: httpx.Response) -> None:
    for name, value in response.cookies.items():
        client.cookies.set(name, value)


def form_token(client: httpx.Client, page: str = "/login") -> str:
    """This client's CSRF token, from a page that carries a form (its cookie kept in the client)."""
    response = client.get(page)
    keep_cookies(client, response)
    found = FORM_TOKEN.search(response.text)
    assert found, f"no form token on {page} ({response.status_code})"
    return found.group(1)


def post_form(client: httpx.Client, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    """A form POST with this client's CSRF token, the cookies it sets kept."""
    response = client.post(path, data={"csrftoken": form_token(client), **(data or {})})
    keep_cookies(client, response)
    return response


def sign_in(client: httpx.Client, username: str, password: str, next_path: str = "/") -> httpx.Response:
    return post_form(client, "/login", {"username": username, "password": password, "next": next_path})


def new_person(console_world: ConsoleWorld, role: Role = Role.OPERATOR, prefix: str = "person") -> Person:
    """An account of its own for a test that changes it (locks it, disables it): a plain name, not an e-mail."""
    username = f"{prefix}-{uuid.uuid4().hex[:10]}"
    account = Accounts(console_world.engine).add(username, f"Test {prefix}", role, PASSWORD, utcnow())
    return Person(account.id, account.username, PASSWORD, role)
