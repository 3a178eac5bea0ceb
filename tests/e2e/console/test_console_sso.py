"""Single sign-on against a real OpenID provider (oidc-provider-mock, an Authlib-based server, started here as its own
process) and a console configured for it: the code flow with state, nonce and PKCE, the ID token verified, an
existing account found by its username (the `email` claim) and then by its linked subject; no account, refused with
a page that says so; the role always the console account's."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from devtools.local.process import ServiceProcess, wait_until_ready
from devtools.localstack.ports import free_port
from services.common.events import utcnow
from services.console.accounts.roles import Role
from services.console.accounts.sessions import COOKIE, SessionPolicy, Sessions
from services.console.accounts.store import Accounts
from tests.e2e.console.conftest import PASSWORD, ConsoleWorld
from tests.e2e.console.forms import keep_cookies


@dataclass(frozen=True)
class SignOnWorld:
    issuer: str
    console: str


@pytest.fixture(scope="module")
def sso(console_world: ConsoleWorld) -> Iterator[SignOnWorld]:
    """The provider on a port of its own, and a second console (the world's database) that trusts it."""
    logs = console_world.world.pipeline.config.log_dir / "sso"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with (logs / "oidc-provider.log").open("ab") as sink:
        provider = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port),
                                     "--require-nonce"], stdout=sink, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)  # fmt: skip
    main = console_world.world.pipeline.console
    assert main is not None
    console_port = free_port()
    console_url = f"http://127.0.0.1:{console_port}"
    console = ServiceProcess("console", {**main.env, "CCPA_CONSOLE_OIDC_ISSUER": issuer,
                                         "CCPA_CONSOLE_OIDC_CLIENT_ID": "ccpa-console",
                                         "CCPA_CONSOLE_OIDC_CLIENT_SECRET": "a client secret for the tests",
                                         "CCPA_CONSOLE_OIDC_REDIRECT_URL": f"{console_url}/login/oidc/callback"},
                             console_port, logs)  # fmt: skip
    try:
        discovery = "/.well-known/openid-configuration"
        assert wait_until_ready(issuer, lambda: provider.poll() is None, 30, path=discovery), "no OpenID provider"
        console.start()
        yield SignOnWorld(issuer, console.url)
    finally:
        console.stop()
        provider.terminate()
        provider.wait(10)


def vouch(sso: SignOnWorld, subject: str, email: str) -> None:
    """The claims the issuer states for a subject (as its directory would)."""
    answer = httpx.put(f"{sso.issuer}/users/{subject}", json={"email": email, "email_verified": True})
    assert answer.status_code == 204


def sign_on(sso: SignOnWorld, subject: str, next_path: str = "/queue") -> httpx.Response:
    """A browser's round trip: the console, the issuer's sign-in (the person picks `subject`), back to the console."""
    with httpx.Client(base_url=sso.console, timeout=30) as client:
        start = client.get("/login/oidc", params={"next": next_path})
        assert start.status_code == 303, start.text
        keep_cookies(client, start)
        authorize = start.headers["location"]
        assert authorize.startswith(f"{sso.issuer}/oauth2/authorize?") and "code_challenge_method=S256" in authorize
        assert "nonce=" in authorize and "state=" in authorize
        assert httpx.get(authorize).status_code == 200  # the issuer's own sign-in page
        chosen = httpx.post(authorize, data={"sub": subject})
        assert chosen.status_code == 302, chosen.text
        return client.get(chosen.headers["location"])


def signed_in_as(console_world: ConsoleWorld, response: httpx.Response) -> str | None:
    sessions = Sessions(console_world.engine, SessionPolicy(timedelta(hours=8), timedelta(minutes=30)))
    operator = sessions.resolve(response.cookies[COOKIE], utcnow()) if COOKIE in response.cookies else None
    return operator.id if operator else None


def test_the_sign_in_page_offers_single_sign_on_when_configured(sso: SignOnWorld) -> None:
    page = httpx.get(f"{sso.console}/login", params={"next": "/queue"})
    assert "Sign in with single sign-on" in page.text and 'href="/login/oidc?next=/queue"' in page.text


def test_an_account_is_found_by_its_email_then_by_its_linked_subject(console_world: ConsoleWorld,
                                                                    sso: SignOnWorld) -> None:  # fmt: skip
    email = f"sso-{uuid.uuid4().hex[:8]}@console.test"
    account = Accounts(console_world.engine).add(email, "Sam Sso", Role.VIEWER, PASSWORD, utcnow())
    subject = f"sub-{uuid.uuid4().hex}"
    vouch(sso, subject, email.upper())
    back = sign_on(sso, subject)
    assert back.status_code == 200 and "You are signed in" in back.text and 'url=/queue"' in back.text
    assert signed_in_as(console_world, back) == account.id
    linked = Accounts(console_world.engine).by_id(account.id)
    assert linked is not None and linked.sso_linked and linked.role is Role.VIEWER  # the role stays the console's
    vouch(sso, subject, "changed-address@elsewhere.test")  # the link holds whatever the e-mail says later
    assert signed_in_as(console_world, sign_on(sso, subject)) == account.id


def test_someone_without_a_console_account_is_refused_with_a_page_saying_so(console_world: ConsoleWorld,
                                                                           sso: SignOnWorld) -> None:  # fmt: skip
    vouch(sso, f"sub-{uuid.uuid4().hex}", "nobody-here@console.test")
    subject = f"sub-{uuid.uuid4().hex}"
    vouch(sso, subject, "nobody-here@console.test")
    back = sign_on(sso, subject)
    assert back.status_code == 403 and "no console account is linked to you" in back.text
    assert COOKIE not in back.cookies


def test_a_callback_this_browser_did_not_start_is_refused(sso: SignOnWorld) -> None:
    with httpx.Client(base_url=sso.console, timeout=30) as client:
        forged = client.get("/login/oidc/callback", params={"code": "stolen-code", "state": "made-up"})
    assert forged.status_code == 403 and "did not start in this browser" in forged.text
    assert COOKIE not in forged.cookies


def test_a_disabled_account_is_refused_through_single_sign_on_too(console_world: ConsoleWorld,
                                                                 sso: SignOnWorld) -> None:  # fmt: skip
    email = f"gone-{uuid.uuid4().hex[:8]}@console.test"
    accounts = Accounts(console_world.engine)
    account = accounts.add(email, "Gone Soon", Role.OPERATOR, PASSWORD, utcnow())
    accounts.set_disabled(account.id, True)
    subject = f"sub-{uuid.uuid4().hex}"
    vouch(sso, subject, email)
    back = sign_on(sso, subject)
    assert back.status_code == 403 and "disabled" in back.text and COOKIE not in back.cookies
