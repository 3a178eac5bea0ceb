"""The privacy center's shell in a real browser: the landing page, its security headers and error pages."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from tests.e2e.browser.conftest import assert_accessible, shoot

pytestmark = pytest.mark.e2e


def test_the_landing_page_lists_the_rights_names_the_business_and_is_accessible(page: Page, center: str) -> None:
    blocked: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(center.rsplit("/privacy", 1)[0])
            else blocked.append(request.url))  # fmt: skip
    response = page.goto(f"{center}/")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Your privacy rights at Example Co."
    for right in ("Know what personal information we collect about you", "Delete your personal information",
                  "Correct inaccurate personal information", "Your Privacy Choices"):  # fmt: skip
        assert page.get_by_text(right).first.is_visible()
    assert page.get_by_text("1-800-555-0100").is_visible()
    shoot(page, "privacy-landing")
    assert_accessible(page)
    assert blocked == []  # nothing from another host


def test_every_page_carries_a_strict_content_security_policy(center: str) -> None:
    response = httpx.get(f"{center}/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assets = httpx.get(f"{center}/static/privacy.css")
    assert assets.status_code == 200 and "content-security-policy" in assets.headers


def test_an_unknown_page_is_a_page_for_people_and_the_api_keeps_json(page: Page, center: str) -> None:
    response = page.goto(f"{center}/no-such-page")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "We could not find that page"
    api = httpx.get(center.replace("/privacy", "/v1/no-such-thing"))
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
