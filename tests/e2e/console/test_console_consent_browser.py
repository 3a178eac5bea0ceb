"""The consent look-up in a real browser, as support staff use it: a customer who opted out (an opt-out request
with Global Privacy Control, through intake's API) is found by e-mail address; the page shows the state and the
history and never the address; a bad identifier is the form again with the problem. Screenshots and axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from services.console.accounts.roles import Role
from tests.browser import assert_accessible, shoot
from tests.e2e.console.conftest import ConsoleWorld, SignedInPage
from tests.e2e.console.opting_out import opt_out_with_gpc

pytestmark = pytest.mark.e2e

CUSTOMER = 25


def look_up(page: Page, url: str, kind: str, identifier: str) -> None:
    page.goto(f"{url}/consent")
    page.get_by_label("Kind of identifier").select_option(label=kind)
    page.get_by_label("Identifier", exact=True).fill(identifier)
    page.get_by_role("button", name="Look up").click()
    page.wait_for_load_state()


def test_support_finds_a_customer_who_opted_out_with_state_and_history(signed_in_page: SignedInPage,
                                                                      console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    customer = world.customers[CUSTOMER]
    request_id = opt_out_with_gpc(world, customer).request_id

    page = signed_in_page(Role.VIEWER)
    page.goto(f"{console_world.url}/consent")
    assert page.get_by_role("heading", name="Consent look-up", level=1).is_visible()
    shoot(page, "console-consent")
    assert_accessible(page)

    look_up(page, console_world.url, "E-mail address", customer.email)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Consent of the person with e-mail address")
    state = page.locator("#consent-state")
    assert state.locator("tr", has_text="Sale of personal information").get_by_text("Opted out").is_visible()
    assert state.locator("tr", has_text="Sharing").get_by_text("Opted out").is_visible()
    history = page.locator("#consent-history")
    change = history.locator("tr", has=page.get_by_role("link", name=request_id))
    assert "Global Privacy Control signal" in change.inner_text() and "Opted out of sale" in change.inner_text()
    assert customer.email.lower() not in page.content().lower()
    assert page.get_by_label("Identifier", exact=True).input_value() == ""  # the form is never pre-filled
    shoot(page, "console-consent-result")
    assert_accessible(page)


def test_a_bad_identifier_is_the_form_again_with_its_problem_and_no_echo(
    signed_in_page: SignedInPage, console_world: ConsoleWorld
) -> None:
    page = signed_in_page(Role.VIEWER)
    look_up(page, console_world.url, "E-mail address", "someone-at-nowhere")
    assert page.get_by_role("alert").get_by_text("The e-mail address is not a valid e-mail address.").is_visible()
    assert page.get_by_label("Identifier", exact=True).get_attribute("aria-invalid") == "true"
    assert "someone-at-nowhere" not in page.content()
    shoot(page, "console-consent-error")
    assert_accessible(page)
