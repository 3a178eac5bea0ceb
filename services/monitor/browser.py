"""The GPC monitor's browser driver: headless Chromium under Playwright for Python (the `monitor` extra), the
system's own executable (never a downloaded browser), Global Privacy Control on as a browser sends it."""

from __future__ import annotations

from services.monitor.checks import Visit

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


class BrowserUnavailable(RuntimeError):
    """Playwright or the Chromium executable is missing."""


def visit_with_gpc(url: str, chromium: str, timeout_seconds: float, lookup_url: str | None = None) -> Visit:
    """Open `url` with Sec-GPC: 1 and navigator.globalPrivacyControl, wait until the network is idle, and record
    every request the page made; then read `lookup_url` (if given) in the same browser profile."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable("Playwright is not installed: pip install 'ccpa-pipeline[monitor]'") from exc
    requests: list[str] = []
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except Error as exc:
            raise BrowserUnavailable(f"Chromium did not start from {chromium}") from exc
        try:
            context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
            context.add_init_script(GPC_SCRIPT)
            context.set_default_timeout(timeout_seconds * 1000)
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="networkidle")
            text = page.inner_text("body")
            lookup_text = None
            if lookup_url is not None:
                page.goto(lookup_url, wait_until="networkidle")
                lookup_text = page.inner_text("body")
            return Visit(tuple(requests), text, lookup_text)
        finally:
            browser.close()
