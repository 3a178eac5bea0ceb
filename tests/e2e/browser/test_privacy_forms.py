"""The request forms in a real browser, as a consumer (or an agent) uses them: fill in the form, read the code from
the mailbox, type it, land on the status page; mistakes, wrong codes, a missing CSRF token, too many codes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from devtools.demo.company import Customer
from devtools.localstack import MailServer
from tests.e2e.browser.conftest import assert_accessible, shoot
from tests.e2e.demo_world import World
from tests.e2e.privacy_forms import code_mails, request_of_status

pytestmark = pytest.mark.e2e

STATUS = re.compile(r"/privacy/status/[A-Za-z0-9_-]{43}$")
PDF = b"%PDF-1.4\n% the consumer's signed permission\n" + b"0" * 256


class RequestForm:
    """The form of one request type (for the consumer, or for an agent)."""

    def __init__(self, page: Page, center: str, request_type: str, agent: bool = False) -> None:
        self.page = page
        response = page.goto(f"{center}/{'agent' if agent else 'requests'}/{request_type}")
        assert response is not None and response.status == 200

    def fill_consumer(self, customer: Customer, birth: bool = False) -> RequestForm:
        self.page.get_by_label("E-mail address").fill(customer.email)
        self.page.get_by_label("Full name").fill(customer.full_name)
        self.page.get_by_label("ZIP code").fill(customer.postal_code)
        if birth:
            self.page.get_by_label("Date of birth").fill(customer.date_of_birth)
        return self

    def send(self) -> None:
        self.page.get_by_role("button", name=re.compile("Continue|Send the request")).click()


class CodePage:
    """/privacy/verify/{token}: where the e-mailed code is typed."""

    def __init__(self, page: Page) -> None:
        self.page = page
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail for a code")

    def type(self, code: str) -> None:
        self.page.get_by_label("The code from the e-mail").fill(code)
        self.page.get_by_role("button", name="Confirm").click()


def confirm_with_the_mailed_code(page: Page, mail_server: MailServer, email: str, shot: str) -> str:
    codes = CodePage(page)
    shoot(page, shot)
    assert_accessible(page)
    (code,) = code_mails(mail_server, email)
    codes.type(code)
    page.wait_for_url(STATUS)
    return page.url


ANSWERED = re.compile("^We did (what|part of what) you asked$")


def follow_until_answered(page: Page, shot: str) -> None:
    """On the status page, as a consumer waits: htmx refreshes the block until the answer shows."""
    expect(page.get_by_role("heading", name=ANSWERED)).to_be_visible(timeout=120_000)
    shoot(page, shot)
    assert_accessible(page)


def test_know_categories_through_the_form_and_the_mailed_code(page: Page, center: str, full_world: World,
                                                              mail_server: MailServer) -> None:  # fmt: skip
    page.goto(f"{center}/requests")
    shoot(page, "privacy-requests")
    assert_accessible(page)
    page.get_by_role("link", name="Know what personal information we collect about you").click()
    form = RequestForm(page, center, "know_categories").fill_consumer(full_world.customers[37])
    shoot(page, "privacy-form-know-categories")
    assert_accessible(page)
    form.send()
    status = confirm_with_the_mailed_code(page, mail_server, full_world.customers[37].email, "privacy-verify")
    assert full_world.get(request_of_status(full_world, status))["type"] == "know_categories"


def test_know_specific_with_the_declaration(page: Page, center: str, full_world: World,
                                            mail_server: MailServer) -> None:  # fmt: skip
    customer = full_world.customers[38]
    form = RequestForm(page, center, "know_specific").fill_consumer(customer, birth=True)
    expect(page.get_by_text("I declare under penalty of perjury")).to_be_visible()
    page.get_by_label("I sign this declaration").check()
    page.get_by_label("From").fill("2023-01-01")
    shoot(page, "privacy-form-know-specific")
    assert_accessible(page)
    form.send()
    status = confirm_with_the_mailed_code(page, mail_server, customer.email, "privacy-verify-know-specific")
    request = full_world.get(request_of_status(full_world, status))
    assert request["type"] == "know_specific" and request["verification"]["achieved"] == "reasonably_high"
    follow_until_answered(page, "status-after-form-know-specific")
    expect(page.get_by_role("heading", name="Your report is ready")).to_be_visible()
    data = page.request.get(str(page.get_by_role("link", name="Download as data (JSON)").get_attribute("href")))
    assert data.status == 200 and data.json()["request_id"] == request_of_status(full_world, status)
    page.get_by_role("link", name="Read it in your browser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The personal information we hold about you")
    expect(page.get_by_text(customer.email).first).to_be_visible()
    shoot(page, "report-from-the-status-page")


def test_delete_through_the_form(page: Page, center: str, full_world: World, mail_server: MailServer) -> None:
    customer = full_world.customers[42]
    RequestForm(page, center, "delete").fill_consumer(customer).send()
    status = confirm_with_the_mailed_code(page, mail_server, customer.email, "privacy-verify-delete")
    assert full_world.get(request_of_status(full_world, status))["type"] == "delete"
    follow_until_answered(page, "status-after-form-delete")  # erased everywhere, verified by a fresh walk


def test_correct_with_rows_and_another_added(page: Page, center: str, full_world: World,
                                            mail_server: MailServer) -> None:  # fmt: skip
    customer = full_world.customers[43]
    form = RequestForm(page, center, "correct").fill_consumer(customer)
    page.locator("#correct_field_0").select_option(label="ZIP code")
    page.locator("#correct_value_0").fill("94107")
    page.get_by_role("button", name="Add another correction").click()  # htmx fetches a fourth row
    expect(page.locator("#correct_field_3")).to_be_visible()
    page.locator("#correct_field_3").select_option(label="Phone number")
    page.locator("#correct_value_3").fill("+1 415 555 0100")
    shoot(page, "privacy-form-correct")
    assert_accessible(page)
    form.send()
    status = confirm_with_the_mailed_code(page, mail_server, customer.email, "privacy-verify-correct")
    assert full_world.get(request_of_status(full_world, status))["type"] == "correct"


def test_an_agent_request_with_the_signed_permission(page: Page, center: str, full_world: World,
                                                     mail_server: MailServer) -> None:  # fmt: skip
    customer = full_world.customers[40]
    page.goto(f"{center}/agent")
    shoot(page, "privacy-agent")
    assert_accessible(page)
    page.get_by_role("link", name="Ask what personal information we collect about the consumer").click()
    form = RequestForm(page, center, "know_categories", agent=True)
    page.get_by_label("Your name, or your organisation's").fill("Acme Privacy Agents")
    page.get_by_label("The consumer's signed permission").set_input_files(
        {"name": "permission.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    form.fill_consumer(customer)
    shoot(page, "privacy-form-agent")
    assert_accessible(page)
    form.send()
    status = confirm_with_the_mailed_code(page, mail_server, customer.email, "privacy-verify-agent")
    request = full_world.get(request_of_status(full_world, status))
    assert request["channel"] == "agent_portal" and request["verification"]["outcome"] == "verified"


def test_mistakes_are_listed_at_the_top_and_linked_to_each_field(page: Page, center: str) -> None:
    form = RequestForm(page, center, "know_specific")
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_label("ZIP code").fill("ABC")
    form.send()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There are 3 problems with this form")
    summary.get_by_role("link", name="Enter an e-mail address in the form name@example.com.").click()
    expect(page.get_by_label("E-mail address")).to_be_focused()
    expect(page.get_by_label("E-mail address")).to_have_value("not an address")
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    shoot(page, "privacy-form-errors")
    assert_accessible(page)


def test_five_wrong_codes_void_the_form(page: Page, center: str, mail_server: MailServer) -> None:
    email = "forms.browser.void@example.com"
    form = RequestForm(page, center, "delete")
    page.get_by_label("E-mail address").fill(email)
    form.send()
    codes = CodePage(page)
    (code,) = code_mails(mail_server, email)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    for _ in range(4):
        codes.type(wrong)
        expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    shoot(page, "privacy-verify-wrong-code")
    assert_accessible(page)
    codes.type(wrong)
    expect(page.get_by_role("heading", level=1)).to_have_text("Please start again")
    shoot(page, "privacy-verify-void")
    assert_accessible(page)


def test_a_form_without_its_csrf_token_gets_the_refusal_page(page: Page, center: str) -> None:
    form = RequestForm(page, center, "delete")
    page.get_by_label("E-mail address").fill("forms.browser.csrf@example.com")
    page.evaluate("document.querySelector('input[name=csrftoken]').remove()")
    form.send()
    expect(page.get_by_role("heading", level=1)).to_have_text("Please send the form again")
    shoot(page, "privacy-csrf-refused")
    assert_accessible(page)


def test_too_many_codes_get_the_wait_page(page: Page, center: str, mail_server: MailServer) -> None:
    email = "forms.browser.limit@example.com"
    form = RequestForm(page, center, "know_categories")
    page.get_by_label("E-mail address").fill(email)
    form.send()
    for sent in range(2, 6):
        page.get_by_role("button", name="Send me a new code").click()
        expect(page.get_by_text("We sent a new code")).to_be_visible()
        code_mails(mail_server, email, sent)
    shoot(page, "privacy-verify-new-code")
    page.get_by_role("button", name="Send me a new code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Please wait a little before trying again")
    shoot(page, "privacy-too-many")
    assert_accessible(page)
