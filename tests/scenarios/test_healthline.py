"""Healthline (CA AG, 2025-07-01, $1.55M): opt-outs (link, GPC, banner) were misconfigured, so about 65,000 opted-out
California users still had data sent to ad partners; the vendor failed to block all trackers; article titles implying
a diagnosis were shared with advertisers (a purpose-limitation violation); contract terms were missing. What
technically failed: no per-tracker enforcement of the opt-out, no check of what outbound payloads reveal.
(../shared/reference/ccpa-requirements.md §7.)

Here: a health-revealing article title bound for the ad partner (flow adreach-events) is flagged by the gate's
content check and not sent (sensitive_content, a FlowBlocked); after an opt-out through intake's HTTP API, the
downstream's probes are dropped by every gated server-side integration, a replayed tracking event of the subject is
dropped by each of them (coop-export, adreach-events, adreach-audience), nothing reaches the ad network, and each
drop is on the opt-out's timeline after received, applied and acknowledged."""

from __future__ import annotations

import hashlib
from subprocess import CompletedProcess

import pytest

from services.common.crypto import subject_key_of
from services.common.identity import IdentifierKind
from services.common.serde import SingleObjectCodec
from services.common.settings import decode_key
from services.common.topics import FLOWS_BLOCKED, TopicNames
from tests.e2e.demo_world import World, submit
from tests.scenarios.flows import (
    AdNetworkSink,
    assert_effect_story,
    blocked_entry,
    entries_of,
    run_module,
    subscriber_emails,
)
from tests.support import read_topic, wait_for

pytestmark = [pytest.mark.e2e]
GATED = ("coop-export", "adreach-events", "adreach-audience")
DIAGNOSIS = "Living with type 2 diabetes: 9 early symptoms you should not ignore"


def device_key(world: World, device_id: str) -> str:
    secret = decode_key(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    return subject_key_of(secret, IdentifierKind.DEVICE_ID, device_id)


def forward(world: World, sink: AdNetworkSink, device: str, url: str, title: str) -> CompletedProcess[str]:
    """One analytics event through the demo's forwarder (flow adreach-events)."""
    return run_module(world, "devtools.demo.forwarder", "forward", "--sink", sink.url, "--device-id", device,
                      "--page-url", url, "--title", title)  # fmt: skip


def test_a_health_revealing_title_bound_for_the_ad_partner_is_flagged_and_not_sent(
    scenario_world: World, ad_network: AdNetworkSink
) -> None:
    world, device = scenario_world, "healthline-reader-1"
    benign = forward(world, ad_network, device, "https://shop.example/blog/summer-sandals", "Summer sandals")
    assert benign.returncode == 0 and "adreach-events: sent" in benign.stdout, benign.stderr
    flagged = forward(world, ad_network, device, "https://shop.example/health/type-2-diabetes-early-signs", DIAGNOSIS)
    assert flagged.returncode == 0, flagged.stderr
    assert "adreach-events: held back (sensitive_content)" in flagged.stdout
    titles = [body["page_title"] for body in ad_network.bodies("/events") if body["device_id"] == device]
    assert titles == ["Summer sandals"]

    topic = TopicNames(world.pipeline.config.topic_namespace)(FLOWS_BLOCKED)
    codec, subject = SingleObjectCodec(), device_key(world, device)

    def flagged_event() -> list[object] | None:
        events = [codec.decode(m.value()) for m in read_topic(world.pipeline.config.bootstrap_servers, topic)]
        found = [e for e in events if e.subject_key == subject and e.payload.reason == "sensitive_content"]
        return found or None

    (event,) = wait_for(flagged_event, timeout=30, what="the sensitive_content FlowBlocked on privacy.flows.blocked")
    assert (event.payload.flow, event.payload.recipient, event.payload.gate) == (  # type: ignore[attr-defined]
        "adreach-events", "adreach", "demo-forwarder")  # fmt: skip
    assert "diabetes" not in str(event.payload)


def test_after_an_opt_out_every_gated_integration_drops_the_replayed_event_and_says_so_on_the_timeline(
    scenario_world: World, ad_network: AdNetworkSink
) -> None:
    world, device = scenario_world, "healthline-reader-2"
    listed = {email.lower() for email in subscriber_emails(world)}
    customer = [c for c in world.customers if c.email.lower() in listed][-4]
    request_id = submit(world, customer, "opt_out")
    entries_of(world, request_id, "OptOutAcknowledged")
    for flow in GATED:  # the downstream's probe replay, after its acknowledgement
        probe = blocked_entry(world, request_id, flow=flow, probe=True)
        assert probe["details"]["gate"] == "probe:adtech-sync"

    replayed = run_module(world, "devtools.demo.forwarder", "replay", "--sink", ad_network.url, "--device-id", device,
                          "--email", customer.email, "--page-url", "https://shop.example/blog/running-shoes",
                          "--title", "The best running shoes")  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    for flow in GATED:
        assert f"{flow}: held back (" in replayed.stdout, replayed.stdout
    assert customer.email not in replayed.stdout + replayed.stderr
    hashed = hashlib.sha256(customer.email.lower().encode()).hexdigest()
    assert [body for body in ad_network.bodies("/events") if body.get("device_id") == device] == []
    assert [body for body in ad_network.bodies("/audience") if body.get("email_sha256") == hashed] == []

    for flow in GATED:
        dropped = blocked_entry(world, request_id, gate="demo-forwarder", flow=flow)
        assert dropped["details"]["reason"] in ("sale_opt_out", "share_opt_out")
    assert_effect_story(world.timeline(request_id))
