"""American Honda (CPPA order, March 2025, $632,500): a single webform required about 8 fields (name, address,
e-mail, phone, VIN…) for all requests including opt-out and limit, which is unlawful verification (§7060(b));
requests through an authorized agent required the consumer to confirm directly (§7026, §7027, §7063); the cookie
tool was asymmetric (opt-out took 2 steps against a one-click "Allow All", §7004); and there were no CCPA contracts
with its ad-tech vendors (§7051; `ccpa datamap check`, tests/unit/test_datamap_check_cli.py).

Tested as a regulator would: an opt-out and a limit with one identifier (an e-mail address), directly and through
an agent holding only the consumer's signed permission, are accepted without verification, never ask the consumer
for a code or a confirmation (Mailpit receives no such e-mail) and are applied by optout (the timeline); an ID
document is refused by the API and the privacy center; in a real browser, opting out takes no more clicks and page
loads than opting back in."""

from __future__ import annotations

import base64
import logging
import re
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from devtools.localstack import MailServer
from services.common.crypto import keyed_hash
from services.intake import orm
from tests.browser import assert_accessible, new_context, shoot
from tests.e2e.demo_world import World
from tests.support import wait_for

pytestmark = [pytest.mark.e2e]
log = logging.getLogger(__name__)
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')
# The smallest file the permission check takes for a PDF (by its first bytes), standing in for a signed letter.
SIGNED_PERMISSION = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ID_DOCUMENT_MARKER = "D5550123-HONDA-LICENCE"
CODE_WORDS = ("code", "/privacy/verify", "confirm")


def consumer(world: World, index: int) -> str:
    """A demo customer's e-mail address: someone the company holds records about (CRM flags to set)."""
    return world.customers[index].email


def submit(world: World, body: dict[str, Any]) -> str:
    response = httpx.post(f"{world.pipeline.intake.url}/v1/requests", json=body, timeout=15)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def applied(world: World, request_id: str) -> dict[str, dict[str, Any]]:
    """The request completed, and its timeline holds the submission, optout's applying it and the completion."""

    seen: dict[str, Any] = {}

    def done() -> dict[str, dict[str, Any]] | None:
        seen["status"] = world.get(request_id)["status"]
        entries = {entry["event_type"]: entry for entry in world.timeline(request_id)}
        seen["timeline"] = {kind: {key: entry["details"].get(key) for key in ("decision", "outcome", "summary",
                                                                             "acting_services", "request_type")}
                            for kind, entry in entries.items()}  # fmt: skip
        wanted = {"RequestSubmitted", "OptOutApplied", "RequestCompleted"} <= entries.keys()
        return entries if wanted and seen["status"] == "completed" else None

    try:
        return wait_for(done, timeout=90, interval=0.5, what=f"{request_id} applied by optout")
    except AssertionError as late:
        raise AssertionError(f"{late}; last seen {seen}") from None


def assert_no_code_notice(world: World, request_id: str) -> None:
    """Every e-mail the request's timeline records is an acknowledgement or an answer, never a verification code."""

    def sent() -> list[str] | None:
        found = [entry["details"].get("notice") for entry in world.timeline(request_id)
                 if entry["event_type"] == "NoticeSent"]  # fmt: skip
        return found if len(found) >= 2 else None  # the acknowledgement and the answer, sent after the completion

    notices = wait_for(sent, timeout=60, interval=0.5, what=f"the notices of {request_id}")
    assert set(notices) <= {"acknowledgement", "response"}, notices


def mails_to(mail_server: MailServer, address: str, at_least: int) -> list[Any]:
    """The e-mails to `address`, once the acknowledgement and the answer arrived (so none is still on its way)."""
    return wait_for(lambda: (mails if len(mails := mail_server.messages(to=address.lower())) >= at_least else None),
                    timeout=60, interval=0.5, what=f"{at_least} e-mail(s) to the consumer")  # fmt: skip


def assert_no_verification_asked(mails: list[Any]) -> None:
    for mail in mails:
        words = f"{mail.subject}\n{mail.text}".lower()
        asked = [word for word in CODE_WORDS if word in words]
        assert not asked, f"an e-mail to the consumer ({mail.subject!r}) asks for {asked}"


def test_opt_out_and_limit_with_an_email_alone_need_no_verification(scenario_world: World,
                                                                   mail_server: MailServer) -> None:  # fmt: skip
    email = consumer(scenario_world, 27)
    opt_out = submit(scenario_world, {"type": "opt_out", "channel": "web_form", "identifiers": {"email": email}})
    applied(scenario_world, opt_out)  # one after the other: each request's own timeline shows it applied
    limit = submit(scenario_world, {"type": "limit", "channel": "web_form", "identifiers": {"email": email},
                                    "limit_categories": ["health", "precise_geolocation"]})  # fmt: skip
    for request_id in (opt_out, limit):
        entries = applied(scenario_world, request_id)
        assert entries["RequestSubmitted"]["details"]["verification_required"] == "none", entries["RequestSubmitted"]
        assert scenario_world.get(request_id)["verification"].get("required") in (None, "none")
        assert entries["OptOutApplied"]["details"]["systems_updated"], "the CRM flags of a known customer are set"
        assert_no_code_notice(scenario_world, request_id)
    change = applied(scenario_world, opt_out)["OptOutApplied"]["details"]
    assert change["sale_opt_out"] is True and change["share_opt_out"] is True
    assert {"health", "precise_geolocation"} <= set(applied(scenario_world, limit)["OptOutApplied"]["details"]
                                                   ["limit_sensitive"])  # fmt: skip
    assert_no_verification_asked(mails_to(mail_server, email, at_least=4))  # two acknowledgements, two answers


def test_an_agent_opts_out_and_limits_with_signed_permission_only(scenario_world: World,
                                                                   mail_server: MailServer) -> None:  # fmt: skip
    email = consumer(scenario_world, 28)
    agent = {"name": "Golden State Privacy Agents LLC", "signed_permission": True,
             "permission_reference": "agent-permission:letter-2025-03"}  # fmt: skip
    for kind in ("opt_out", "limit"):
        request_id = submit(scenario_world, {"type": kind, "channel": "agent_portal", "identifiers": {"email": email},
                                             "authorized_agent": agent})  # fmt: skip
        entries = applied(scenario_world, request_id)
        assert entries["RequestSubmitted"]["details"]["authorized_agent"] is True
        assert entries["RequestSubmitted"]["details"]["verification_required"] == "none"
        assert_no_code_notice(scenario_world, request_id)

    # The privacy center's agent form, for another consumer: the agent's name, the permission and an e-mail address.
    other = consumer(scenario_world, 29)
    center = scenario_world.pipeline.intake.url
    with httpx.Client(base_url=center, timeout=15) as browser:
        form = browser.get("/privacy/agent/opt_out")
        assert form.status_code == 200
        named = set(re.findall(r'<input[^>]* name="([^"]+)"', form.text))
        assert named == {"csrftoken", "agent_name", "permission", "email", "phone", "subject_type"}
        assert "No code is needed for this request." in form.text
        token = CSRF.search(form.text)
        assert token is not None
        permission = {"permission": ("permission.pdf", SIGNED_PERMISSION, "application/pdf")}
        fields = {"csrftoken": token.group(1), "agent_name": agent["name"], "email": other}
        sent = browser.post("/privacy/agent/opt_out", files=permission, data=fields)
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith("/privacy/status/"), "an agent's opt-out asked for a code"
    [from_form] = wait_for(lambda: requests_of(scenario_world, other), what="the agent form's request")
    entries = applied(scenario_world, from_form.request_id)
    assert entries["RequestSubmitted"]["details"]["authorized_agent"] is True
    assert from_form.channel == "agent_portal"
    assert_no_code_notice(scenario_world, from_form.request_id)
    assert_no_verification_asked(mails_to(mail_server, email, at_least=4))
    assert_no_verification_asked(mails_to(mail_server, other, at_least=2))


def requests_of(world: World, email: str) -> list[sa.Row[Any]]:
    """The requests intake holds for this e-mail address (found by its keyed hash, as intake stores it)."""
    secret = base64.b64decode(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"])
    engine = sa.create_engine(world.pipeline.config.intake_db_url)
    try:
        with engine.connect() as connection:
            query = sa.select(orm.requests.c.request_id, orm.requests.c.request_type, orm.requests.c.channel).where(
                orm.requests.c.subject_key == keyed_hash(secret, "email", email.lower()))  # fmt: skip
            return list(connection.execute(query).all())
    finally:
        engine.dispose()


def test_an_id_document_is_refused_by_the_api_and_the_privacy_center(scenario_world: World) -> None:
    intake = scenario_world.pipeline.intake.url
    email = f"honda-{uuid.uuid4().hex[:8]}@example.com"
    document = base64.b64encode(f"DRIVER LICENSE {ID_DOCUMENT_MARKER}".encode()).decode()
    refused = httpx.post(f"{intake}/v1/requests", timeout=15, json={
        "type": "opt_out", "identifiers": {"email": email}, "id_document": document})  # fmt: skip
    assert refused.status_code == 422
    assert "not a field this API accepts" in refused.text  # clear, and not even the field's name is echoed
    assert document not in refused.text and email not in refused.text and "id_document" not in refused.text

    with httpx.Client(base_url=intake, timeout=15) as browser:
        page = browser.get("/privacy/choices")
        opt_out_form = page.text.split('action="/privacy/choices/opt-out"', 1)[1].split("</form>", 1)[0]
        assert 'type="file"' not in opt_out_form and "multipart" not in page.text
        assert set(re.findall(r' name="([^"]+)"', opt_out_form)) == {"csrftoken", "email"}
        token = CSRF.search(page.text)
        assert token is not None
        licence = {"id_document": ("licence.png", ID_DOCUMENT_MARKER.encode(), "image/png")}
        upload = browser.post(
            "/privacy/choices/opt-out", data={"csrftoken": token.group(1), "email": email}, files=licence
        )
    assert upload.status_code == 415, upload.text[:300]
    assert "takes no files" in upload.text and ID_DOCUMENT_MARKER not in upload.text
    assert requests_of(scenario_world, email) == []


@pytest.fixture(scope="module")
def browser(shop_browser: Browser) -> Browser:
    """The scenario package's one Chromium (tests/scenarios/storefront.py): two Playwright instances cannot run at
    once in one thread, and the storefront's holds its loop for the whole package."""
    return shop_browser


class Steps:
    """What a person does on the way: clicks, and the pages the browser loads (each navigation of the page)."""

    def __init__(self, page: Page) -> None:
        self.page, self.clicks, self.loads = page, 0, 0
        page.on("framenavigated", self._loaded)

    def _loaded(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.loads += 1

    def click(self, role: str, name: str) -> None:
        self.page.get_by_role(role, name=name).click()  # type: ignore[arg-type]
        self.page.wait_for_load_state()
        self.clicks += 1


def walk(browser: Browser, center: str, path: str, gpc: bool) -> tuple[int, int]:
    """From the privacy center's landing page to done, on a fresh browser profile: (clicks, page loads)."""
    context = new_context(browser, gpc=gpc)
    try:
        page = context.new_page()
        page.goto(f"{center}/privacy/")
        steps = Steps(page)
        steps.click("link", "Go to Your Privacy Choices")
        if path == "opt-out":
            if not gpc:  # with GPC on the choices page has already honoured it: nothing more to do
                steps.click("button", "Opt out of sale and sharing")
                assert page.locator("h1").inner_text().startswith("You have opted out")
            else:
                page.get_by_role("heading", name="Global Privacy Control: signal received and honoured").wait_for()
        else:
            steps.click("link", "opt back in")
            steps.click("button", "Continue")
            steps.click("button", "Yes, opt me back in")
            assert page.locator("h1").inner_text() == "You have opted back in"
        shoot(page, f"honda-{path}{'-gpc' if gpc else ''}-done")
        assert_accessible(page)
        return steps.clicks, steps.loads
    finally:
        context.close()


@pytest.mark.parametrize("gpc", [False, True], ids=["no-gpc", "gpc"])
def test_opting_out_takes_no_more_steps_than_opting_in(browser: Browser, scenario_world: World, gpc: bool) -> None:
    center = scenario_world.pipeline.intake.url
    opt_out, opt_in = walk(browser, center, "opt-out", gpc), walk(browser, center, "opt-in", gpc)
    log.info(
        "Honda step count (GPC %s): opt-out %d click(s), %d page load(s); opt-in %d click(s), %d page load(s)",
        "on" if gpc else "off",
        *opt_out,
        *opt_in,
    )
    assert opt_out[0] <= opt_in[0], f"opting out takes {opt_out[0]} clicks, opting in {opt_in[0]}"
    assert opt_out[1] <= opt_in[1], f"opting out loads {opt_out[1]} pages, opting in {opt_in[1]}"
