"""A real browser for the tests: Playwright for Python driving the Debian chromium package (no browser is
downloaded), one browser per test package; screenshots kept in .local/screenshots/, pages checked with axe-core.
The fixtures `browser` (package scope) and `page` are imported by each browser package's conftest.py: package scope,
not session, because while Playwright's sync API runs it keeps an asyncio loop running in the main thread, which
would break every later test calling asyncio.run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / ".local" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without these, Chromium tries Google's hosts at every start.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
SERIOUS = frozenset({"serious", "critical"})


def chromium_path() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("Debian's chromium is not installed: `make install` installs it (apt-get install chromium)")
    return path


@contextmanager
def running_browser() -> Iterator[Browser]:
    """Chromium under Playwright's sync API, closed on exit. While it runs, Playwright holds an asyncio loop running in
    this thread (asyncio.run elsewhere fails), so a fixture using it must not outlive its package or module."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, gpc: bool = False, **options: Any) -> BrowserContext:
    """A fresh browser profile (no cookies); with `gpc`, Global Privacy Control on as a browser would send it:
    the Sec-GPC header on every request and navigator.globalPrivacyControl in every page."""
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"} if gpc else {}, **options)
    if gpc:
        context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    context.set_default_timeout(15_000)
    return context


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot kept as .local/screenshots/NAME.png (look at them: would a person understand?)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = Axe().run(page)
    bad = [violation for violation in results.response["violations"] if violation.get("impact") in SERIOUS]
    assert not bad, "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        f"{[node['target'] for node in violation['nodes']][:3]}"
        for violation in bad
    )


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the package that imports this fixture into its conftest.py."""
    with running_browser() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile: no cookies, signed in to nothing."""
    context = new_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()
