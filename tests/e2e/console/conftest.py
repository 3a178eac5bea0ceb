"""The console's world: every service and the console, on a stack of its own (one start per session), set up the way
the console's tests need it and the other e2e tests must not see:

- know_specific answers are held for review before they are sent (CCPA_REVIEW_BEFORE_SEND);
- audit's clock runs CLOCK_SKEW_DAYS ahead (the test clock): every open request is past its 45 days there, so the
  queue has overdue requests, while an extended one (90 days) is not;
- a deletion waits for its recipients' confirmations (a long CCPA_PROVIDER_GRACE_SECONDS), so the demo company's
  manual recipient keeps it open until an operator confirms it.

Accounts (one per role) are made in the console's own database, as `ccpa console users add` makes them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from devtools.localstack import DatabaseServer, MailServer
from services.common.db import make_engine
from services.common.events import utcnow
from services.console.accounts.roles import Role
from services.console.accounts.sessions import COOKIE, SessionPolicy, Sessions
from services.console.accounts.store import Accounts
from tests.browser import browser as browser
from tests.browser import new_context
from tests.browser import page as page
from tests.e2e.demo_world import World, demo_world

CLOCK_SKEW_DAYS = 50
CONSOLE_ENV = {
    "CCPA_REVIEW_BEFORE_SEND": "know_specific",
    "CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS": str(CLOCK_SKEW_DAYS),
    "CCPA_AUDIT_WATCH_SECONDS": "2",  # the watch announces the test clock's missed deadlines at once
    "CCPA_PROVIDER_GRACE_SECONDS": "3600",
}
PASSWORD = "correct horse battery staple"  # every test account's; 12+ characters


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    password: str
    role: Role


@dataclass
class ConsoleWorld:
    world: World
    engine: sa.Engine  # the console's own database (accounts, sessions)
    people: dict[Role, Person]

    @property
    def url(self) -> str:
        assert self.world.pipeline.console is not None
        return self.world.pipeline.console.url

    def session_cookie(self, role: Role) -> dict[str, str]:
        """A live session for the role's account, made the way a sign-in makes one (for tests not about signing in)."""
        sessions = Sessions(self.engine, SessionPolicy(timedelta(hours=8), timedelta(minutes=30)))
        return {COOKIE: sessions.start(self.people[role].id, utcnow())}

    def client(self, role: Role | None) -> httpx.Client:
        """An HTTP client of the console, signed in as the role's account (or not signed in)."""
        cookies = self.session_cookie(role) if role else {}
        return httpx.Client(base_url=self.url, cookies=cookies, follow_redirects=False, timeout=30)


@pytest.fixture(scope="session")
def console_world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, mail_server: MailServer,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:  # fmt: skip
    root = tmp_path_factory.mktemp("console-world")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 12, with_deletion=True, with_optout=True,
                    smtp_port=mail_server.smtp_port, with_console=True, extra_env=CONSOLE_ENV) as world:  # fmt: skip
        url = world.pipeline.config.console_db_url
        assert url is not None
        engine = make_engine(url)
        accounts = Accounts(engine)
        people = {}
        for role in Role:
            account = accounts.add(f"{role.value}@console.test", f"Test {role.value.title()}", role, PASSWORD, utcnow())
            people[role] = Person(account.id, account.username, PASSWORD, role)
        try:
            yield ConsoleWorld(world, engine, people)
        finally:
            engine.dispose()


SignedInPage = Callable[[Role], Page]


@pytest.fixture
def signed_in_page(browser: Browser, console_world: ConsoleWorld) -> Iterator[SignedInPage]:
    """`signed_in_page(Role.OPERATOR)`: a fresh browser profile holding a live session of that role's account (for
    tests not about signing in; those sign in through /login)."""
    contexts = []

    def open_as(role: Role) -> Page:
        context = new_context(browser)
        contexts.append(context)
        token = console_world.session_cookie(role)[COOKIE]
        context.add_cookies([{"name": COOKIE, "value": token, "url": console_world.url, "httpOnly": True,
                              "sameSite": "Strict"}])  # fmt: skip
        return context.new_page()

    try:
        yield open_as
    finally:
        for context in contexts:
            context.close()
