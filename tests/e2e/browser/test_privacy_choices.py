"""Your Privacy Choices in a real browser: opt out and limit in one step each, opt back in in two (counted, Honda
2025), Global Privacy Control shown and honoured (with the header, and by the script when only the browser has it)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page

from devtools.demo.privacy_center import opt_out_through_choices
from services.common.crypto import keyed_hash
from services.intake import orm
from tests.e2e.browser.conftest import assert_accessible, new_context, shoot
from tests.e2e.demo_world import World
from tests.support import wait_for

pytestmark = pytest.mark.e2e
HONOURED = "Global Privacy Control: signal received and honoured"


class ChoicesPage:
    """The choices page as a person uses it; counts what they have to do (clicks that submit a page)."""

    def __init__(self, page: Page, center: str) -> None:
        self.page, self.center = page, center
        self.submissions = 0
        page.on("request", self._count)

    def _count(self, request: Any) -> None:
        if request.method == "POST" and request.is_navigation_request():
            self.submissions += 1

    def open(self) -> ChoicesPage:
        response = self.page.goto(f"{self.center}/choices")
        assert response is not None and response.status == 200
        return self

    def press(self, name: str) -> None:
        self.page.get_by_role("button", name=name).click()
        self.page.wait_for_load_state()

    def device_id(self) -> str:
        cookies = {cookie["name"]: cookie for cookie in self.page.context.cookies()}
        cookie = cookies["ccpa_device"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["expires"] > 0
        return cookie["value"]

    def wait_for_state(self, text: str) -> None:
        def shown() -> bool:
            self.open()
            return self.page.get_by_text(text).count() > 0

        wait_for(shown, timeout=45, interval=0.5, what=f"the choices page to show {text!r}")


@pytest.fixture
def gpc_context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser, gpc=True)
    try:
        yield context
    finally:
        context.close()


def consent_of(world: World, device_id: str) -> dict[str, Any]:
    response = httpx.post(f"{world.pipeline.intake.url}/v1/consent/lookup", headers=world.pipeline.auth,
                          json={"identifiers": {"device_id": device_id}})  # fmt: skip
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def requests_of_device(world: World, device_id: str) -> list[sa.Row[Any]]:
    secret = base64.b64decode(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"])
    engine = sa.create_engine(world.pipeline.config.intake_db_url)
    try:
        with engine.connect() as conn:
            query = sa.select(orm.requests.c.request_id, orm.requests.c.request_type, orm.requests.c.gpc,
                              orm.requests.c.channel).where(
                orm.requests.c.subject_key == keyed_hash(secret, "device_id", device_id))  # fmt: skip
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def test_opting_out_takes_one_click_with_nothing_required_and_shows_as_the_state(
    page: Page, center: str, full_world: World
) -> None:
    choices = ChoicesPage(page, center).open()
    assert page.get_by_text("You have not opted out of the sale or sharing").is_visible()
    shoot(page, "choices")
    assert_accessible(page)
    choices.press("Opt out of sale and sharing")
    assert choices.submissions == 1
    assert page.locator("h1").inner_text() == "You have opted out of the sale and sharing of your personal information"
    assert page.get_by_role("link", name="See the status of your request").is_visible()
    shoot(page, "choices-opted-out")
    assert_accessible(page)
    choices.wait_for_state("You have opted out: we do not sell or share your personal information.")
    state = consent_of(full_world, choices.device_id())
    assert state["sale_opt_out"] is True and state["share_opt_out"] is True


def test_limiting_two_sensitive_categories_in_one_step(page: Page, center: str) -> None:
    choices = ChoicesPage(page, center).open()
    boxes = page.locator('input[name="category"]')
    assert boxes.count() == 11 and all(boxes.nth(i).is_checked() for i in range(11))  # all ticked by default
    for i in range(11):
        boxes.nth(i).uncheck()
    page.get_by_label("Your precise location").check()
    page.get_by_label("Health information").check()
    choices.press("Limit the use of my sensitive information")
    assert choices.submissions == 1
    assert page.locator("h1").inner_text() == "You have limited the use of your sensitive personal information"
    assert page.locator("main li").all_inner_texts() == ["Your precise location", "Health information"]
    shoot(page, "choices-limited")
    assert_accessible(page)
    choices.wait_for_state("You have limited how we use your sensitive personal information: health information, "
                           "your precise location.")  # fmt: skip


def test_limiting_nothing_is_refused_in_words(page: Page, center: str) -> None:
    choices = ChoicesPage(page, center).open()
    boxes = page.locator('input[name="category"]')
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    choices.press("Limit the use of my sensitive information")
    assert page.get_by_text("Tick at least one kind of sensitive information to limit.").is_visible()
    shoot(page, "choices-limit-refused")
    assert_accessible(page)


def test_opting_out_never_takes_more_steps_than_opting_back_in(browser: Browser, center: str) -> None:
    steps: dict[str, int] = {}
    for flow in ("opt-out", "opt-in"):
        context = new_context(browser)
        try:
            page = context.new_page()
            choices = ChoicesPage(page, center).open()
            clicks = 0
            if flow == "opt-out":
                choices.press("Opt out of sale and sharing")
                clicks += 1
            else:
                page.get_by_role("link", name="opt back in").click()
                page.wait_for_load_state()
                shoot(page, "choices-opt-in-form")
                assert_accessible(page)
                choices.press("Continue")
                shoot(page, "choices-opt-in-confirm")
                assert_accessible(page)
                choices.press("Yes, opt me back in")
                clicks += 3
                assert page.locator("h1").inner_text() == "You have opted back in"
                shoot(page, "choices-opted-in")
                assert_accessible(page)
            steps[flow] = choices.submissions
            steps[f"{flow} clicks"] = clicks
        finally:
            context.close()
    assert steps == {"opt-out": 1, "opt-out clicks": 1, "opt-in": 2, "opt-in clicks": 3}
    assert steps["opt-out"] <= steps["opt-in"] and steps["opt-out clicks"] <= steps["opt-in clicks"]


def test_gpc_is_said_without_javascript_and_recorded_once_as_this_browsers_opt_out(
    browser: Browser, center: str, full_world: World
) -> None:
    context = new_context(browser, gpc=True, java_script_enabled=False)
    try:
        page = context.new_page()
        choices = ChoicesPage(page, center).open()
        assert page.get_by_role("heading", name=HONOURED).is_visible()
        assert page.get_by_text("We received it and honour it").is_visible()
        shoot(page, "choices-gpc")  # axe-core needs JavaScript: the GPC page's check is in the conflict test below
        device_id = choices.device_id()
        choices.open()  # a second view records nothing new
        choices.wait_for_state("You have opted out: we do not sell or share your personal information.")
    finally:
        context.close()
    recorded = requests_of_device(full_world, device_id)
    assert [(row.request_type, row.gpc, row.channel) for row in recorded] == [("opt_out", True, "web_form")]
    state = consent_of(full_world, device_id)
    assert state["sale_opt_out"] is True and state["share_opt_out"] is True

    def timeline() -> dict[str, dict[str, Any]] | None:
        entries = {entry["event_type"]: entry for entry in full_world.timeline(recorded[0].request_id)}
        return entries if {"RequestSubmitted", "ConsentChanged"} <= entries.keys() else None

    entries = wait_for(timeline, what="the GPC opt-out's timeline")
    assert entries["RequestSubmitted"]["details"]["gpc"] is True
    assert entries["ConsentChanged"]["details"]["source"] == "gpc"


def test_the_script_honours_gpc_when_the_header_was_stripped(browser: Browser, center: str,
                                                             full_world: World) -> None:  # fmt: skip
    context = browser.new_context()  # navigator.globalPrivacyControl on, but no Sec-GPC header arrives
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    try:
        page = context.new_page()
        choices = ChoicesPage(page, center).open()
        note = page.get_by_role("heading", name=HONOURED)
        note.wait_for(state="visible")
        shoot(page, "choices-gpc-script")
        assert_accessible(page)
        device_id = choices.device_id()
    finally:
        context.close()
    recorded = wait_for(lambda: requests_of_device(full_world, device_id), what="the script's GPC opt-out")
    assert [(row.request_type, row.gpc) for row in recorded] == [("opt_out", True)]


def test_opting_back_in_while_gpc_is_on_explains_the_conflict_and_lets_the_person_choose(
    gpc_context: BrowserContext, center: str
) -> None:
    page = gpc_context.new_page()
    choices = ChoicesPage(page, center).open()
    assert page.get_by_role("heading", name=HONOURED).is_visible()
    assert page.locator(".signal").count() == 0  # the layout's banner gives way to the page's own message
    assert_accessible(page)
    page.get_by_role("link", name="opt back in").click()
    choices.press("Continue")
    assert page.get_by_role("heading", name="Your browser says the opposite").is_visible()
    assert page.get_by_role("button", name="Yes, opt me back in").is_visible()
    assert page.get_by_role("link", name="No, keep my choices").is_visible()
    shoot(page, "choices-opt-in-gpc-conflict")
    assert_accessible(page)
    page.get_by_role("link", name="No, keep my choices").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Your Privacy Choices"


def test_the_demo_opts_out_through_the_form_as_a_browser_would(center: str) -> None:
    made = opt_out_through_choices(center.removesuffix("/privacy"))
    assert made.confirmation == "You have opted out of the sale and sharing of your personal information"
    assert made.status_url.startswith(f"{center}/status/")
    assert made.stage in ("We are applying your choice", "Done")
