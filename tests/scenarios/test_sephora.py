"""Sephora (CA AG, settlement announced 2022-08-24, $1.2M): third-party ad and analytics trackers on the site and
app were a "sale"; there was no "Do Not Sell" link or disclosure; **GPC signals were ignored**; it was not cured
within the then-30-day cure period (https://www.zwillgen.com/?p=17830). Test scenario (ccpa-requirements.md §7): a
browser with `Sec-GPC: 1` → no sale/sharing trackers fire, the profile is flagged opted out.

Here, in a real Chromium with GPC on, the demo storefront's product page: no request reaches the tag host for the
advertising pixel (sharing), the analytics tag (a service provider) still loads, the page says "Opt-Out Request
Honored", the signed-in customer's CRM flag (app-db customers.do_not_share) is set by the opt-out service, the
downstream subscriber (adtech-sync) acknowledges, the request's timeline shows it all, and the blocked tag is
FlowBlocked evidence. With GPC off the ad tag loads. When the decision endpoint does not answer, the gate fails
closed: the ad tag stays inert, the analytics tag loads."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from devtools.demo.company import Customer
from services.common.crypto import keyed_hash
from services.common.serde import SingleObjectCodec
from services.common.settings import decode_key
from services.common.topics import FLOWS_BLOCKED, TopicNames
from tests.browser import assert_accessible, new_context, shoot
from tests.e2e.demo_world import World
from tests.scenarios.storefront import Site
from tests.support import read_topic, wait_for

pytestmark = [pytest.mark.e2e]
HONOURED = "Opt-Out Request Honored"
PROPAGATED = {"RequestSubmitted", "ConsentChanged", "OptOutState", "OptOutApplied", "OptOutAcknowledged"}


@pytest.fixture
def gpc_page(shop_browser: Browser) -> Iterator[Page]:
    context = new_context(shop_browser, gpc=True)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def plain_page(shop_browser: Browser) -> Iterator[Page]:
    context = new_context(shop_browser)
    try:
        yield context.new_page()
    finally:
        context.close()


def crm_flags(world: World, customer: Customer) -> tuple[bool, bool]:
    engine = sa.create_engine(world.target.app_db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT do_not_sell, do_not_share FROM customers WHERE email = :email"),
                               {"email": customer.email}).one()  # fmt: skip
    finally:
        engine.dispose()
    return bool(row[0]), bool(row[1])


def tag_paths(tag_host: Site, since: int) -> list[str]:
    return [hit["path"] for hit in tag_host.hits()[since:]]


def sign_in(page: Page, shop: Site, customer: Customer) -> None:
    page.goto(f"{shop.url}/")
    page.get_by_label("E-mail address").fill(customer.email)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def opt_outs(shop: Site) -> list[str]:
    """The opt-out requests the storefront filed with intake for GPC visitors."""
    request_ids: list[str] = httpx.get(f"{shop.url}/demo/opt-outs", timeout=5).json()["request_ids"]
    return request_ids


def flagged_and_acknowledged(world: World, request_id: str) -> bool:
    """The request's timeline shows it received, applied to the CRM (app-db) and acknowledged by adtech-sync."""
    entries = world.timeline(request_id)
    of = {entry["event_type"]: str(entry) for entry in entries}
    return set(of) >= PROPAGATED and "app-db" in of["OptOutApplied"] and "adtech-sync" in of["OptOutAcknowledged"]


def test_with_gpc_no_sharing_tag_loads_the_customer_is_flagged_and_the_timeline_shows_it(
        scenario_world: World, storefront: Site, tag_host: Site, gpc_page: Page) -> None:  # fmt: skip
    world, customer = scenario_world, scenario_world.customers[23]
    assert crm_flags(world, customer) == (False, False)
    before, filed = len(tag_host.hits()), len(opt_outs(storefront))

    sign_in(gpc_page, storefront, customer)

    expect(gpc_page.get_by_role("status")).to_have_text(HONOURED)
    wait_for(lambda: "/metricly/analytics.js" in tag_paths(tag_host, before), what="the analytics tag loaded")
    wait_for(lambda: "/metricly/collect" in tag_paths(tag_host, before), what="the analytics beacon")
    shoot(gpc_page, "storefront-gpc-on")
    assert_accessible(gpc_page)
    assert not [path for path in tag_paths(tag_host, before) if path.startswith("/adreach/")]

    wait_for(lambda: crm_flags(world, customer) == (True, True) or None, timeout=60, what="the CRM flags set")
    request_ids = opt_outs(storefront)[filed:]
    assert len(request_ids) == 2  # the anonymous browser's first page, then the signed-in customer's
    customer_request = wait_for(
        lambda: next((rid for rid in request_ids if flagged_and_acknowledged(world, rid)), None),
        timeout=60,
        what="the customer's opt-out applied and acknowledged",
    )
    assert world.get(customer_request)["status"] == "completed"

    visitor = next(c["value"] for c in gpc_page.context.cookies() if c["name"] == "shop_visitor")
    device_key = keyed_hash(decode_key(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "subject key"),
                            "device_id", visitor)  # fmt: skip
    # Besides the gate's own, the downstream's probes of its server-side flows are there too (probe: true).
    blocked = wait_for(lambda: [p for p in blocked_tags(world, device_key) if not p["probe"]] or None,
                       what="FlowBlocked for the pixel")  # fmt: skip
    assert {(p["flow"], p["reason"], p["gate"], p["channel"]) for p in blocked} == {
        ("adreach-pixel", "gpc", "tag-gate", "browser_tag")}  # fmt: skip
    assert all(visitor not in str(p) for p in blocked)


def blocked_tags(world: World, subject_key: str) -> list[dict[str, Any]]:
    """FlowBlocked payloads on privacy.flows.blocked for this subject key."""
    config = world.pipeline.config
    topic = TopicNames(config.topic_namespace)(FLOWS_BLOCKED)
    events = [SingleObjectCodec().decode(m.value()) for m in read_topic(config.bootstrap_servers, topic)]
    return [dataclasses.asdict(e.payload) for e in events if e.subject_key == subject_key]


def test_the_gate_asks_the_decision_endpoint_itself_when_nothing_is_inlined(
        storefront: Site, tag_host: Site, gpc_page: Page) -> None:  # fmt: skip
    before = len(tag_host.hits())
    gpc_page.goto(f"{storefront.url}/live")
    expect(gpc_page.get_by_role("status")).to_have_text(HONOURED)
    wait_for(lambda: "/metricly/analytics.js" in tag_paths(tag_host, before), what="the analytics tag loaded")
    gpc_page.wait_for_load_state("networkidle")
    assert not [path for path in tag_paths(tag_host, before) if path.startswith("/adreach/")]


def test_without_gpc_the_ad_tag_loads_and_nothing_claims_an_opt_out(
        storefront: Site, tag_host: Site, plain_page: Page) -> None:  # fmt: skip
    before = len(tag_host.hits())
    plain_page.goto(f"{storefront.url}/")
    wait_for(lambda: "/adreach/collect" in tag_paths(tag_host, before), what="the ad pixel's beacon")
    assert "/metricly/analytics.js" in tag_paths(tag_host, before)
    expect(plain_page.locator("#ccpa-gpc-status")).to_be_hidden()
    shoot(plain_page, "storefront-gpc-off")
    assert_accessible(plain_page)


def test_when_the_decision_endpoint_does_not_answer_the_ad_tag_stays_inert_and_analytics_loads(
        stranded_storefront: Site, tag_host: Site, plain_page: Page) -> None:  # fmt: skip
    before = len(tag_host.hits())
    plain_page.goto(f"{stranded_storefront.url}/")
    wait_for(lambda: "/metricly/collect" in tag_paths(tag_host, before), what="the service provider's tag")
    plain_page.wait_for_load_state("networkidle")
    assert not [path for path in tag_paths(tag_host, before) if path.startswith("/adreach/")]
    expect(plain_page.locator("#ccpa-gpc-status")).to_be_hidden()


def test_an_opt_out_on_record_keeps_the_ad_tag_off_when_the_browser_later_visits_without_gpc(
        scenario_world: World, storefront: Site, tag_host: Site, shop_browser: Browser,
        gpc_page: Page) -> None:  # fmt: skip
    filed = len(opt_outs(storefront))
    gpc_page.goto(f"{storefront.url}/")
    (request_id,) = wait_for(lambda: opt_outs(storefront)[filed:] or None, what="the browser's opt-out filed")
    wait_for(lambda: {"OptOutApplied"} <= {e["event_type"] for e in scenario_world.timeline(request_id)} or None,
             timeout=60, what="the browser's opt-out applied")  # fmt: skip
    later = new_context(shop_browser, storage_state=gpc_page.context.storage_state())  # same cookies, GPC now off
    try:
        page = later.new_page()
        before = len(tag_host.hits())
        page.goto(f"{storefront.url}/")
        wait_for(lambda: "/metricly/collect" in tag_paths(tag_host, before), what="the service provider's tag")
        page.wait_for_load_state("networkidle")
        assert not [path for path in tag_paths(tag_host, before) if path.startswith("/adreach/")]
    finally:
        later.close()

    def pixel_blocked() -> list[dict[str, Any]] | None:
        entries = scenario_world.timeline(request_id)
        return entries if any(is_later_block(e) for e in entries) else None

    def is_later_block(entry: dict[str, Any]) -> bool:
        """The later visit's: no GPC now, so the opt-out on record (not the signal) holds the pixel back."""
        details = entry["details"]
        return entry["event_type"] == "FlowBlocked" and (details["gate"], details["reason"]) == (
            "tag-gate", "share_opt_out")  # fmt: skip

    # The denial read the state this opt-out made, so the evidence of effect is on the opt-out's own timeline,
    # after its receipt and its application (the downstream's probes of its server-side flows are there too).
    entries = wait_for(pixel_blocked, timeout=30, what="the blocked pixel on the opt-out's timeline")
    kinds = [e["event_type"] for e in entries]
    pixel = next(i for i, e in enumerate(entries) if is_later_block(e))
    assert kinds.index("RequestSubmitted") < kinds.index("OptOutApplied") < pixel
    assert entries[pixel]["details"]["flow"] == "adreach-pixel"
