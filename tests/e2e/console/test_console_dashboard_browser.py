"""The dashboard in a real browser: the charts drawn by the vendored Chart.js under the strict CSP (no script error),
and the tables beside them holding the figures audit's API gives; the §7102 year selector; screenshots and axe-core."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from services.common.events import utcnow
from services.common.pacific import PACIFIC
from services.console.accounts.roles import Role
from services.console.web import charts, words
from tests.browser import assert_accessible, shoot
from tests.e2e.console.conftest import ConsoleWorld, SignedInPage
from tests.e2e.demo_world import submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e

CUSTOMER = 26


def audit(console_world: ConsoleWorld, path: str, **params: Any) -> dict[str, Any]:
    pipeline = console_world.world.pipeline
    response = httpx.get(f"{pipeline.audit.url}{path}", params=params, headers=pipeline.auth, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def table(page: Page, table_id: str) -> list[list[str]]:
    rows = page.locator(f"#{table_id} tbody tr")
    return [[cell.strip() for cell in rows.nth(i).locator("th, td").all_inner_texts()] for i in range(rows.count())]


def errors_of(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" else None)  # fmt: skip
    return problems


def drawn(page: Page, chart: str) -> bool:
    return page.locator(f'canvas[data-chart="{chart}"][data-drawn]').count() == 1


def test_the_7102_table_of_the_year_is_drawn_and_matches_audit(signed_in_page: SignedInPage,
                                                              console_world: ConsoleWorld) -> None:  # fmt: skip
    page = signed_in_page(Role.VIEWER)
    problems = errors_of(page)
    year = utcnow().astimezone(PACIFIC).year
    page.goto(f"{console_world.url}/dashboard")
    page.get_by_label("Year", exact=True).select_option(str(year))
    page.get_by_role("button", name="Show year").click()
    page.wait_for_load_state()
    assert f"year={year}" in page.url
    assert page.get_by_role("heading", name=f"§7102 metrics for {year}").is_visible()

    def same_as_audit() -> bool:
        expected = [[words.request_type(line["request_type"]), str(line["received"]),
                     str(line["complied_in_whole_or_in_part"]), str(line["denied"])]
                    for line in audit(console_world, "/v1/metrics/7102", year=year)["lines"]]  # fmt: skip
        page.reload()
        return [row[:4] for row in table(page, "metrics")] == expected

    wait_for(same_as_audit, timeout=30, interval=1, what="the §7102 table as audit gives it")
    page.wait_for_function("document.querySelector('canvas[data-chart=\"chart-metrics\"][data-drawn]') !== null")
    assert drawn(page, "chart-metrics")
    shoot(page, "console-dashboard-7102")
    assert_accessible(page)
    assert problems == []  # Chart.js runs under script-src 'self' / style-src 'self'


def test_the_dashboard_draws_its_charts_and_its_tables_match_the_api(signed_in_page: SignedInPage,
                                                                    console_world: ConsoleWorld) -> None:  # fmt: skip
    world = console_world.world
    submit(world, world.customers[CUSTOMER], "delete")
    page = signed_in_page(Role.OPERATOR)
    problems = errors_of(page)

    def same_as_audit() -> bool:
        board = audit(console_world, "/v1/dashboard", weeks=12)
        page.goto(f"{console_world.url}/dashboard")
        weeks = [[charts.week_label(w["week_start"]), str(w["received"]), str(w["answered"])]
                 for w in board["throughput"]]  # fmt: skip
        overdue = sum(board["overdue_by_type"].values())
        return table(page, "throughput") == weeks and table(page, "by-type")[-1][:2] == ["All types", str(overdue)]

    wait_for(same_as_audit, timeout=60, interval=1, what="the dashboard's tables as audit gives them")
    page.wait_for_function("document.querySelectorAll('canvas[data-chart][data-drawn]').length === 2")
    assert drawn(page, "chart-throughput") and drawn(page, "chart-metrics")
    assert page.locator("#dlq .card-n").inner_text().isdigit()
    assert page.get_by_role("heading", name="Waiting on others").is_visible()
    shoot(page, "console-dashboard")
    assert_accessible(page)
    assert problems == []
