"""The queue in a real browser, as an operator uses it: the filters (a plain form), the counts as links, an open
request shown overdue under the test clock (audit runs CLOCK_SKEW_DAYS ahead in console_world), paging there and
back; a screenshot of each state and axe-core on each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page

from services.console.accounts.roles import Role
from tests.browser import assert_accessible, shoot
from tests.e2e.console.conftest import ConsoleWorld, SignedInPage
from tests.e2e.demo_world import submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e

CUSTOMER = 24  # the demo customer whose requests these tests make


class QueuePage:
    """The queue as a person sees it: its filters by label, its rows by the request's link."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.problems: list[str] = []
        page.on("console", lambda message: self.problems.append(message.text) if message.type == "error" else None)

    def open(self, query: str = "") -> QueuePage:
        response = self.page.goto(f"{self.url}/queue{query}")
        assert response is not None and response.status == 200, response and response.status
        return self

    def filter(self, status: str | None = None, per_page: str | None = None) -> QueuePage:
        if status:
            self.page.get_by_label("Status").select_option(status)
        if per_page:
            self.page.get_by_label("Per page").select_option(per_page)
        self.page.get_by_role("button", name="Apply filters").click()
        self.page.wait_for_load_state()
        return self

    def row(self, request_id: str) -> Locator:
        return self.page.locator("table.queue tbody tr", has=self.page.get_by_role("link", name=request_id))

    def request_ids(self) -> list[str]:
        return self.page.locator("table.queue tbody tr td:first-child a").all_inner_texts()


def test_an_operator_finds_an_overdue_request_with_the_filters(signed_in_page: SignedInPage,
                                                               console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    request_id = submit(world, world.customers[CUSTOMER], "delete")
    queue = QueuePage(signed_in_page(Role.OPERATOR), console_world.url).open()
    assert queue.page.get_by_role("heading", name="Queue", level=1).is_visible()
    shoot(queue.page, "console-queue")
    assert_accessible(queue.page)

    queue.filter(status="overdue", per_page="200")
    assert "status=overdue" in queue.page.url and queue.page.get_by_label("Status").input_value() == "overdue"
    wait_for(lambda: queue.open("?status=overdue&per_page=200").row(request_id).count() == 1, timeout=60,
             interval=1, what="the request in the overdue queue")  # fmt: skip
    row = queue.row(request_id)
    assert "row-overdue" in (row.get_attribute("class") or "")
    assert " overdue" in row.locator("td.days").inner_text()
    assert row.locator(".state").inner_text().lower() == "overdue"
    assert row.get_by_role("link", name=request_id).get_attribute("href") == f"/requests/{request_id}"
    shoot(queue.page, "console-queue-overdue")
    assert_accessible(queue.page)

    overdue_count = queue.page.get_by_role("navigation", name="Counts").get_by_role("link", name="Overdue")
    assert overdue_count.get_attribute("aria-current") == "true"
    queue.open().page.get_by_role("navigation", name="Counts").get_by_role("link", name="Overdue").click()
    queue.page.wait_for_load_state()
    assert "status=overdue" in queue.page.url
    assert queue.problems == []  # no script error, no CSP violation


def test_the_queue_pages_there_and_back(signed_in_page: SignedInPage, console_world: ConsoleWorld) -> None:
    world = console_world.world
    for _ in range(3):
        submit(world, world.customers[CUSTOMER], "know_categories")
    queue = QueuePage(signed_in_page(Role.VIEWER), console_world.url)
    wait_for(lambda: queue.open("?status=all&per_page=1").page.get_by_role("link", name="Next page").count() == 1,
             timeout=60, interval=1, what="a second page")  # fmt: skip
    first = queue.request_ids()
    queue.page.get_by_role("link", name="Next page").click()
    queue.page.wait_for_load_state()
    assert queue.page.get_by_text("Page 2", exact=True).is_visible()
    second = queue.request_ids()
    assert len(first) == len(second) == 1 and first != second
    shoot(queue.page, "console-queue-page-2")
    assert_accessible(queue.page)
    queue.page.get_by_role("link", name="Previous page").click()
    queue.page.wait_for_load_state()
    assert queue.request_ids() == first


def test_a_queue_with_nothing_to_show_says_so(signed_in_page: SignedInPage, console_world: ConsoleWorld) -> None:
    queue = QueuePage(signed_in_page(Role.VIEWER), console_world.url).open("?status=open&channel=in_person")
    assert queue.page.get_by_text("No request matches these filters.").is_visible()
    shoot(queue.page, "console-queue-empty")
    assert_accessible(queue.page)
