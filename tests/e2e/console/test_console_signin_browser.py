"""Signing in to the console in Chromium as a person does: sent to the sign-in page from the page they asked for,
a refusal they can read, then back to that page; the session cookie (Secure, HttpOnly, SameSite=Strict) kept and
sent by the browser over http://127.0.0.1 (loopback counts as a secure context); signing out ends it."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from services.console.accounts.roles import Role
from services.console.accounts.sessions import COOKIE
from tests.browser import assert_accessible, shoot
from tests.e2e.console.conftest import ConsoleWorld

NO_MATCH = "That username and password do not match an account."


def where(page: Page) -> str:
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in_with(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_person_signed_out_is_sent_to_sign_in_and_back_to_the_page_asked(console_world: ConsoleWorld,
                                                                          page: Page) -> None:  # fmt: skip
    person = console_world.people[Role.OPERATOR]
    page.goto(f"{console_world.url}/queue")
    assert where(page) == "/login?next=/queue"
    expect(page.get_by_role("heading", name="Sign in to the privacy console")).to_be_visible()
    expect(page.get_by_text("Sign in with single sign-on")).to_have_count(0)  # not configured here
    shoot(page, "console-login")
    assert_accessible(page)

    sign_in_with(page, person.username, "not the password at all")
    expect(page.get_by_role("alert")).to_contain_text(NO_MATCH)
    expect(page.get_by_label("Username")).to_have_value(person.username)
    shoot(page, "console-login-error")
    assert_accessible(page)

    sign_in_with(page, person.username, person.password)
    page.wait_for_url("**/queue")
    assert where(page) == "/queue"
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.goto(f"{console_world.url}/login")  # the browser sends the Secure cookie back: the page knows the person
    expect(page.get_by_role("status")).to_contain_text("You are signed in as Test Operator")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
