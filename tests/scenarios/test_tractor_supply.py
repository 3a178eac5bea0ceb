"""Tractor Supply (CPPA, 2025-09-30, $1.35M; ../shared/reference/ccpa-requirements.md §7): no effective opt-out,
Global Privacy Control included; a privacy policy lacking required disclosures and not updated annually, with no
explanation of how opt-out preference signals are handled; a job-applicant notice missing their rights; vendor
contracts missing CCPA terms. What technically failed: job applicants' requests had nowhere to go (the pipeline knew
only customers), GPC was not honoured, and nothing checked the policy's date or contents.

Here, through HTTP, Kafka and a real browser with GPC on: a job applicant's know and delete requests are verified
against the applicant records and complete, touching applicant records only (the deletion verified by a new search);
GPC is honoured and said ("Opt-Out Request Honored") and the opt-out recorded; the privacy policy intake serves
passes `ccpa check policy`, and the same policy last updated 13 months ago fails it."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from playwright.sync_api import Browser

from devtools.demo import schema
from devtools.demo.applicants import Applicant, applicant_count, applicants
from services.common.crypto import keyed_hash
from services.intake import orm
from tests.browser import assert_accessible, new_context, shoot
from tests.e2e.demo_world import SUBJECTS, World, completed, download
from tests.support import wait_for

pytestmark = [pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]
APPLICANTS = applicants(applicant_count(SUBJECTS))  # the demo world's (seed 7)


@pytest.fixture(scope="module")
def browser(shop_browser: Browser) -> Browser:
    """The scenario package's one Chromium (tests/scenarios/storefront.py): two Playwright instances cannot run at
    once in one thread."""
    return shop_browser


def submit_as(world: World, applicant: Applicant, request_type: str, subject_type: str | None) -> dict[str, Any]:
    """The 202 body: request_id and the person's status_url."""
    body: dict[str, Any] = {
        "type": request_type,
        "channel": "web_form",
        "identifiers": {"email": applicant.email},
        "verification": {"data_points": {"name": applicant.full_name, "postal_code": applicant.postal_code},
                         "signed_declaration": True},
    }  # fmt: skip
    if subject_type:
        body["subject_type"] = subject_type
    response = httpx.post(f"{world.pipeline.intake.url}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


def answered(world: World, request_id: str, timeout: float = 120.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = world.get(request_id)
        return status if status["status"] == "completed" and status.get("response") else None

    return wait_for(done, timeout=timeout, what=f"the answer to {request_id}")


def app_rows(world: World, table: sa.Table, **where: str) -> int:
    engine = sa.create_engine(world.target.app_db_url)
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_a_job_applicant_s_know_request_is_verified_against_applicants_and_reports_applicant_records_only(
    scenario_world: World,
) -> None:
    applicant = APPLICANTS[0]
    accepted = submit_as(scenario_world, applicant, "know_specific", "job_applicant")
    request_id = accepted["request_id"]
    status = completed(scenario_world, request_id, timeout=90)
    assert status["subject_type"] == "job_applicant" and status["type"] == "know_specific"
    assert status["verification"]["achieved"] == "reasonably_high"
    report = download(status["report"]["links"]["json"]).json()
    assert "records we hold about you as a job applicant" in report["summary"]
    assert [store["store"] for store in report["searched"]] == ["app-db"]
    held = {(store["store"], collection["collection"]) for store in report["specific_pieces"]
            for collection in store["collections"]}  # fmt: skip
    assert held == {("app-db", "job_applications")}
    assert applicant.position in str(report["specific_pieces"])

    record = wait_for(lambda: next((item for item in records_of(scenario_world) if item["request_id"] == request_id),
                                   None), what="the §7101 record")  # fmt: skip
    assert record["subject_type"] == "job_applicant"
    page = httpx.get(accepted["status_url"], timeout=30).text
    assert "Made as" in page and "Job applicant: we searched the records we hold about you as one" in page


def records_of(world: World) -> list[dict[str, Any]]:
    response = httpx.get(f"{world.pipeline.audit.url}/v1/records", headers=world.pipeline.auth)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_applicant_is_not_verified_as_a_customer(scenario_world: World) -> None:
    """The customers' records do not hold applicants: the same request as a customer's matches nobody."""
    request_id = submit_as(scenario_world, APPLICANTS[2], "delete", None)["request_id"]
    status = scenario_world.get(request_id)
    assert status["subject_type"] == "consumer"
    assert status["verification"]["outcome"] == "no_match"


def test_a_job_applicant_s_deletion_erases_the_application_only_and_is_verified(scenario_world: World) -> None:
    applicant = APPLICANTS[1]
    customers_before = app_rows(scenario_world, schema.customers)
    assert app_rows(scenario_world, schema.job_applications, email=applicant.email) == 1
    request_id = submit_as(scenario_world, applicant, "delete", "job_applicant")["request_id"]
    status = answered(scenario_world, request_id)
    assert status["verification"]["outcome"] == "verified"
    assert app_rows(scenario_world, schema.job_applications, email=applicant.email) == 0
    assert app_rows(scenario_world, schema.job_applications) == len(APPLICANTS) - 1
    assert app_rows(scenario_world, schema.customers) == customers_before

    def verified() -> list[dict[str, Any]] | None:
        entries = [e for e in scenario_world.timeline(request_id) if e["event_type"] == "DeletionVerified"]
        return entries or None

    assert wait_for(verified, timeout=60, what="DeletionVerified")[-1]["details"]["verified"] is True
    erased = [e["details"] for e in scenario_world.timeline(request_id) if e["event_type"] == "StoreErased"]
    assert [details["store"] for details in erased] == ["app-db"]


def test_gpc_is_honoured_said_and_recorded(browser: Browser, scenario_world: World) -> None:
    center = f"{scenario_world.pipeline.intake.url}/privacy"
    context = new_context(browser, gpc=True)
    try:
        page = context.new_page()

        def honoured() -> bool:
            response = page.goto(f"{center}/choices")
            assert response is not None and response.status == 200
            return page.get_by_text("Opt-Out Request Honored", exact=True).count() > 0

        wait_for(honoured, timeout=60, interval=0.5, what="the choices page to say the opt-out was honoured")
        shoot(page, "tractor-supply-choices-gpc")
        assert_accessible(page)
        device_id = next(c["value"] for c in context.cookies() if c["name"] == "ccpa_device")
    finally:
        context.close()
    recorded = gpc_requests(scenario_world, device_id)
    assert [(row.request_type, row.gpc) for row in recorded] == [("opt_out", True)]


def gpc_requests(world: World, device_id: str) -> list[sa.Row[Any]]:
    secret = base64.b64decode(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"])
    engine = sa.create_engine(world.pipeline.config.intake_db_url)
    try:
        with engine.connect() as conn:
            query = sa.select(orm.requests.c.request_type, orm.requests.c.gpc).where(
                orm.requests.c.subject_key == keyed_hash(secret, "device_id", device_id))  # fmt: skip
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def check_policy(source: str) -> subprocess.CompletedProcess[str]:
    """`ccpa check policy` as a person runs it: its own process, its exit code and its lines."""
    return subprocess.run([sys.executable, "-m", "services.cli", "check", "policy", source], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_the_served_privacy_policy_passes_the_check_and_a_thirteen_month_old_one_fails(
    browser: Browser, scenario_world: World, tmp_path: Path
) -> None:
    url = f"{scenario_world.pipeline.intake.url}/privacy/policy"
    passed = check_policy(url)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("privacy policy passes: last updated ")

    context = new_context(browser, gpc=True)
    try:
        page = context.new_page()
        page.goto(url)
        assert page.get_by_role("heading", name="Job applicants and employees").is_visible()
        assert page.locator("#sale").count() == 1 and page.locator("#sharing").count() == 1
        shoot(page, "tractor-supply-privacy-policy")
        assert_accessible(page)
    finally:
        context.close()

    served = httpx.get(url).text
    stated = re.search(r'<meta name="last-updated" content="(\d{4}-\d\d-\d\d)">', served)
    assert stated is not None
    old = date.today() - relativedelta(months=13)
    stale = re.sub(r"(Last updated: <time datetime=\")\d{4}-\d\d-\d\d(\">)[^<]*",
                   rf"\g<1>{old.isoformat()}\g<2>{old.isoformat()}", served)  # fmt: skip
    stale = stale.replace(stated.group(0), f'<meta name="last-updated" content="{old.isoformat()}">')
    (tmp_path / "policy.html").write_text(stale)
    failed = check_policy(str(tmp_path / "policy.html"))
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        f"last updated {old.isoformat()}, 13 months ago: §1798.130(a)(5) requires updating the privacy policy at "
        "least once every 12 months"
    ]


def test_the_request_form_asks_which_describes_you(browser: Browser, scenario_world: World) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{scenario_world.pipeline.intake.url}/privacy/requests/delete")
        question = page.get_by_role("group", name="Which describes you?")
        assert question.get_by_role("radio", name="Customer or visitor").is_checked()
        question.get_by_role("radio", name="Job applicant").check()
        assert question.get_by_role("radio", name="Job applicant").is_checked()
        shoot(page, "tractor-supply-request-form")
        assert_accessible(page)
    finally:
        context.close()
