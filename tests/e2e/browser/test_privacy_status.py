"""The consumer's status page in a real browser: a know-specific request followed until its answer (htmx refreshes
the block) and its report downloaded from the page's links; an extension and its reason; an expired link (410), an
unknown one (404); and the link's token never in intake's log."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from services.common.events import utcnow
from services.common.pacific import long_date
from services.intake import orm
from tests.e2e.browser.conftest import assert_accessible, shoot
from tests.e2e.demo_world import World
from tests.support import wait_for

pytestmark = pytest.mark.e2e
# Customers of the demo company no other test uses.
KNOW, EXTENDED, EXPIRED = 23, 26, 28


def submit(world: World, index: int, request_type: str) -> dict[str, Any]:
    """A verified request through the JSON API; its answer carries the consumer's status link."""
    customer = world.customers[index]
    points = {"name": customer.full_name, "postal_code": customer.postal_code, "date_of_birth": customer.date_of_birth}
    body = {"type": request_type, "channel": "web_form", "identifiers": {"email": customer.email},
            "verification": {"data_points": points, "signed_declaration": True}}  # fmt: skip
    response = httpx.post(f"{world.pipeline.intake.url}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    assert accepted["status_url"].startswith(f"{world.pipeline.intake.url}/privacy/status/")
    return accepted


def test_a_know_specific_request_is_followed_to_its_answer_and_its_report_downloaded(
    page: Page, full_world: World
) -> None:
    accepted = submit(full_world, KNOW, "know_specific")
    response = page.goto(accepted["status_url"])
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "The status of your request"
    assert page.get_by_text("Get a copy of the personal information we hold about you").is_visible()
    assert page.get_by_role("link", name="Refresh this page").count() in (0, 1)
    shoot(page, "status-open")
    assert_accessible(page)
    # No reload from here: htmx refreshes the status block every few seconds until the answer.
    page.get_by_role("heading", name="Your report is ready").wait_for(timeout=90_000)
    assert page.get_by_role("heading", name="We did what you asked").is_visible()
    assert page.get_by_text("(done)").count() == 3
    assert page.get_by_role("link", name="Refresh this page").count() == 0
    shoot(page, "status-answered")
    assert_accessible(page)
    body = page.locator("main").inner_text()
    assert "complied" not in body and "sha256" not in body.lower() and "app-db" not in body
    links = {name: page.get_by_role("link", name=name).get_attribute("href") for name in (
        "Read it in your browser", "Download as a spreadsheet (CSV, zipped)", "Download as data (JSON)")}  # fmt: skip
    assert page.get_by_text("These links stop working on").is_visible()
    html = httpx.get(str(links["Read it in your browser"]), timeout=30)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    data = httpx.get(str(links["Download as data (JSON)"]), timeout=30)
    assert data.status_code == 200 and isinstance(json.loads(data.content), dict)
    zipped = httpx.get(str(links["Download as a spreadsheet (CSV, zipped)"]), timeout=30)
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"


def test_an_extended_request_shows_the_reason_and_the_new_due_date(page: Page, full_world: World) -> None:
    accepted = submit(full_world, EXTENDED, "know_categories")
    reason = "Our records for your account are spread over several older systems that we must search by hand."
    extended = httpx.post(f"{full_world.pipeline.intake.url}/v1/requests/{accepted['request_id']}/extend",
                          json={"reason": reason}, headers=full_world.pipeline.auth)  # fmt: skip
    assert extended.status_code == 200, extended.text
    page.goto(accepted["status_url"])
    # Open, the page says it needs more time; answered already (categories come fast), that it took it.
    assert page.get_by_role("heading", name=re.compile("^We (need|took) more time$")).is_visible()
    assert page.get_by_text(f"Why: {reason}").is_visible()
    new_due = long_date(datetime.fromisoformat(extended.json()["due_at"]))
    assert page.locator("#extension-heading + p ~ p strong", has_text=new_due).is_visible()
    shoot(page, "status-extended")
    assert_accessible(page)


def test_an_expired_link_is_a_410_page_saying_how_to_ask_again(page: Page, full_world: World) -> None:
    accepted = submit(full_world, EXPIRED, "know_categories")
    engine = sa.create_engine(full_world.pipeline.config.intake_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(orm.status_links).where(orm.status_links.c.request_id == accepted["request_id"])
                         .values(expires_at=utcnow() - timedelta(days=1)))  # fmt: skip
    finally:
        engine.dispose()
    response = page.goto(accepted["status_url"])
    assert response is not None and response.status == 410
    assert page.locator("h1").inner_text() == "This link has expired"
    assert page.get_by_role("heading", name="To ask again").is_visible()
    shoot(page, "status-expired")
    assert_accessible(page)


def test_an_unknown_link_is_a_404_page(page: Page, center: str) -> None:
    for token in ("A" * 43, "not-a-token"):
        response = page.goto(f"{center}/status/{token}")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == "We could not find that request"
    shoot(page, "status-unknown")
    assert_accessible(page)


def test_the_status_links_token_never_reaches_intakes_log(page: Page, full_world: World) -> None:
    accepted = submit(full_world, EXPIRED + 1, "opt_out")
    token = accepted["status_url"].rsplit("/", 1)[1]
    page.goto(accepted["status_url"])
    page.goto(f"{accepted['status_url']}/fragment")
    log_file = full_world.pipeline.intake.log_file

    def logged() -> list[str]:
        lines = log_file.read_text().splitlines()
        return [line for line in lines if accepted["request_id"] in line and "/privacy/status/[token]" in line]

    assert len(wait_for(logged, what="intake's log line about the status page")) >= 2
    written = log_file.read_text()
    assert token not in written and full_world.customers[EXPIRED + 1].email not in written
