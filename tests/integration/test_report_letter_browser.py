"""The access report's HTML letter in a real browser (Debian chromium through Playwright): axe-core finds no serious
or critical violation, the page loads nothing and runs no script under its own CSP, and a screenshot is kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import axe_playwright_python.sync_playwright as axe_playwright
import pytest
from playwright.sync_api import Page

from services.discovery.report import render
from tests.browser import SCREENSHOTS, running_browser
from tests.demo_report import LETTERHEAD, demo_report

# No skip when chromium is missing: `make install` installs it, and a browser test that cannot run must fail.
pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """One browser page for this module's letters (the browser closes with the module: tests/browser.py)."""
    with running_browser() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.set_default_timeout(10_000)
        yield page


def letter_page(page: Any, request_type: str = "know_specific") -> list[str]:
    """Loads the letter, returning every request the page tried to make (it must make none)."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_content(render(demo_report(request_type), "html", LETTERHEAD)[0].decode("utf-8"))
    return [url for url in requested if not url.startswith(("about:", "data:"))]


@pytest.mark.parametrize("request_type", ["know_specific", "know_categories"])
def test_the_letter_has_no_serious_or_critical_accessibility_violation(page: Any, request_type: str) -> None:
    assert letter_page(page, request_type) == []
    results = axe_playwright.Axe().run(page)
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert serious == [], results.generate_report()
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("heading", name="Your orders").count() == (request_type == "know_specific")


def test_the_letter_reads_as_a_letter_and_is_kept_as_a_screenshot(page: Any) -> None:
    letter_page(page)
    assert page.get_by_role("navigation", name="Contents").get_by_role("link", name="Your account").count() == 1
    row = page.get_by_role("row", name="Email address maya.lopez@example.com").first
    assert row.get_by_role("rowheader").inner_text() == "Email address"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-letter.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "none"  # the print stylesheet applies
    page.emulate_media(media="screen")
