"""The request page in a browser, as the privacy team uses it, against the console's world (know_specific answers
held for review, audit's clock 50 days ahead, deletions waiting for the demo company's manual recipients): an
operator sees an overdue request, extends one, confirms a manual recipient and sees the deletion complete, approves a
held answer; a viewer finds no action and is refused on the server. Screenshots kept, axe-core on every state."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from services.common.pacific import long_date
from services.console.accounts.roles import Role
from services.console.clients.parsing import moment
from services.console.web.security import CSRF_COOKIE
from tests.browser import assert_accessible, shoot
from tests.e2e.console.conftest import ConsoleWorld, SignedInPage
from tests.e2e.demo_world import submit
from tests.support import wait_for

EXTEND_REASON = "We must search the archived order system, which takes longer"


class RequestPage:
    """The request page, found by role and label as a person finds its parts."""

    def __init__(self, page: Page, console_url: str, request_id: str) -> None:
        self.page, self.url = page, f"{console_url}/requests/{request_id}"

    def open(self) -> RequestPage:
        self.page.goto(self.url)
        expect(self.page.get_by_role("heading", level=1)).to_contain_text("Request")
        return self

    def clock(self, name: str) -> str:
        return self.page.get_by_role("row", name=re.compile(f"^{name}")).inner_text()

    def story(self) -> str:
        return self.page.locator("ol.story").inner_text() if self.page.locator("ol.story").count() else ""

    def status_message(self) -> str:
        return self.page.get_by_role("status").inner_text()

    def until(self, shown: Callable[[RequestPage], bool], what: str, timeout: float = 120) -> None:
        """Reload until the page shows it (the services report in their own time)."""

        def reloaded() -> bool | None:
            self.open()
            return shown(self) or None

        try:
            wait_for(reloaded, timeout=timeout, interval=1.0, what=what)
        except AssertionError:
            shoot(self.page, "console-request-timed-out")  # what the page showed instead
            raise

    def checked(self, name: str) -> None:
        shoot(self.page, f"console-request-{name}")
        assert_accessible(self.page)


def test_an_operator_sees_an_overdue_request(signed_in_page: SignedInPage, console_world: ConsoleWorld) -> None:
    world = console_world.world
    request_id = submit(world, world.customers[5], "delete")  # open until its manual recipients confirm
    page = RequestPage(signed_in_page(Role.OPERATOR), console_world.url, request_id)
    # the deadline watch (every 2 s here) announces DeadlineMissed under its test clock: what says overdue while the
    # console's own clock is real; the state is shown upper-case (CSS), so compare without case
    page.until(lambda p: "overdue" in p.clock("Respond").lower(), "the request shown overdue", timeout=180)
    assert "The response deadline of" in page.story() and "was missed" in page.story()
    page.checked("overdue")


def test_an_operator_extends_a_request_with_the_reason(signed_in_page: SignedInPage,
                                                       console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    request_id = submit(world, world.customers[6], "delete")
    page = RequestPage(signed_in_page(Role.OPERATOR), console_world.url, request_id)
    page.until(lambda p: "Received through" in p.story(), "the request on its timeline")
    page.page.get_by_label("Reason for the extension (told to the consumer)").fill(EXTEND_REASON)
    page.page.get_by_role("button", name="Extend to 90 days").click()
    expect(page.page.get_by_role("status")).to_contain_text("Extended to 90 days")
    extended = world.get(request_id)
    assert extended["extension"]["extended"] is True
    due_at = moment(extended["due_at"])
    assert due_at is not None
    due = long_date(due_at)
    assert due in page.clock("Respond") and "Overdue" not in page.clock("Respond")
    expect(page.page.get_by_role("button", name="Extend to 90 days")).to_have_count(0)  # once only
    page.until(lambda p: f"Extended to 90 days (due {due}): {EXTEND_REASON}" in p.story(), "the extension's story")
    page.until(lambda p: "Test Operator extended the request" in p.story(), "the operator's action on the story")
    page.checked("extended")


def test_an_operator_confirms_the_manual_recipient_and_sees_the_deletion_complete(
        signed_in_page: SignedInPage, console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    request_id = submit(world, world.customers[10], "delete")  # subject 10 is in every store, and sent to recipients
    page = RequestPage(signed_in_page(Role.OPERATOR), console_world.url, request_id)
    confirm = page.page.get_by_role("button", name=re.compile(r"^Confirm .+'s deletion$"))
    page.until(lambda p: confirm.count() > 0, "a manual recipient waiting for its confirmation", timeout=180)
    page.checked("manual-recipient")
    while confirm.count():
        form = page.page.locator("form").filter(has=confirm).first
        form.get_by_label(re.compile("^Note on how")).fill("Their privacy desk confirmed by telephone")
        form.get_by_label("Their confirmation reference (optional)").fill("TICKET-4711")
        confirm.first.click()
        expect(page.page.get_by_role("status")).to_contain_text("Confirmation recorded")
    page.until(lambda p: "The deletion completed" in p.story(), "the deletion completed on the story", timeout=180)
    assert "confirmed the deletion (note by an operator)" in page.story()
    assert "Test Operator recorded a recipient's confirmation" in page.story()
    page.checked("deletion-complete")


def test_an_operator_approves_a_held_answer(signed_in_page: SignedInPage, console_world: ConsoleWorld) -> None:
    world = console_world.world
    request_id = submit(world, world.customers[7], "know_specific")
    page = RequestPage(signed_in_page(Role.OPERATOR), console_world.url, request_id)
    page.until(lambda p: "Awaiting review" in p.page.content(), "the answer held for review", timeout=180)
    assert not (world.get(request_id).get("report") or {}).get("links")  # held: no link handed to the consumer
    page.checked("awaiting-review")
    page.page.get_by_role("button", name="Approve and send the answer").click()
    expect(page.page.get_by_role("status")).to_contain_text("Approved")
    wait_for(lambda: (world.get(request_id).get("report") or {}).get("links"), timeout=60,
             what="the report's links released by the approval")  # fmt: skip
    page.until(lambda p: "Test Operator approved the answer" in p.story(), "the approval on the story")
    expect(page.page.get_by_role("link", name="Download the report as JSON")).to_be_visible()
    page.checked("approved")


def test_a_viewer_sees_no_action_and_is_refused_on_the_server(signed_in_page: SignedInPage,
                                                               console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    request_id = submit(world, world.customers[8], "delete")
    page = RequestPage(signed_in_page(Role.VIEWER), console_world.url, request_id)
    page.until(lambda p: "Received through" in p.story(), "the request on its timeline")
    buttons = page.page.get_by_role("button")
    expect(buttons).to_have_count(1)
    expect(buttons).to_have_text("Sign out")
    expect(page.page.get_by_role("link", name=re.compile("Download the report"))).to_have_count(0)
    page.checked("viewer")
    token = page.page.locator("input[name=csrftoken]").first.get_attribute("value")
    assert token
    refused = page.page.request.post(f"{page.url}/extend", form={"csrftoken": token, "reason": EXTEND_REASON})
    assert refused.status == 403 and "operator role" in refused.text()
    assert world.get(request_id)["extension"]["extended"] is False
    with console_world.client(Role.VIEWER) as client:  # the same, without a browser
        form = client.get(f"/requests/{request_id}")
        found = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
        assert found and form.cookies.get(CSRF_COOKIE)
        client.cookies.set(CSRF_COOKIE, form.cookies[CSRF_COOKIE])  # a Secure cookie: httpx keeps it off plain http
        answer = client.post(f"/requests/{request_id}/holds", data={"csrftoken": found.group(1), "reason": "hold it"})
        assert answer.status_code == 403 and "operator role" in answer.text  # the role, not the CSRF check
        assert client.get(f"/requests/{request_id}/report/json").status_code == 403
