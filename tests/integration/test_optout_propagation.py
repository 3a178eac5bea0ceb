"""Opt-out end to end: signal → consent state → compacted topic → downstream acknowledgement → timeline."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient, ConfigResource

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline, PipelineConfig
from services.common.topics import OPTOUT_STATE, TopicNames
from services.optout.gpp import decode_gpp
from services.optout.subscriber import ReferenceSubscriber
from tests.support import wait_for, wait_for_entries

pytestmark = pytest.mark.integration
PROPAGATED = ["RequestSubmitted", "OptOutState", "OptOutApplied", "RequestCompleted", "OptOutAcknowledged"]


@pytest.fixture
def optout_pipeline(optout_pipeline_config: PipelineConfig) -> Pipeline:
    running = Pipeline(optout_pipeline_config).start()
    yield running  # type: ignore[misc]
    running.stop()


def submit(client: httpx.Client, pipeline: Pipeline, body: dict[str, object], **headers: str) -> str:
    response = client.post(f"{pipeline.intake.url}/v1/requests", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


def flags(pipeline: Pipeline, email: str) -> tuple[bool, bool, str]:
    engine = sa.create_engine(pipeline.config.identity_source_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT do_not_sell, do_not_share, limit_sensitive FROM customers "
                                       "WHERE email = :email"), {"email": email}).one()  # fmt: skip
    finally:
        engine.dispose()
    return bool(row[0]), bool(row[1]), str(row[2])


def test_state_topic_is_compacted(optout_pipeline: Pipeline) -> None:
    admin = AdminClient({"bootstrap.servers": optout_pipeline.config.bootstrap_servers})
    topic = TopicNames(optout_pipeline.config.topic_namespace)(OPTOUT_STATE)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    config = admin.describe_configs([resource])[resource].result(timeout=15)
    assert config["cleanup.policy"].value == "compact"


def test_gpc_and_form_opt_outs_are_honoured_propagated_and_acknowledged(
        optout_pipeline: Pipeline, demo_customers: list[Customer]) -> None:  # fmt: skip
    pipeline, (alice, bob) = optout_pipeline, demo_customers[:2]
    with httpx.Client(timeout=10) as client:
        gpc = submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": alice.email,
                                                                           "device_id": "browser-alice"}},
                     **{"Sec-GPC": "1"})  # fmt: skip
        limit = submit(client, pipeline, {"type": "limit", "identifiers": {"email": bob.email},
                                          "limit_categories": ["precise_geolocation", "health"]})  # fmt: skip
        gpc_timeline = wait_for_entries(client, pipeline.audit.url, gpc, pipeline.auth, [*PROPAGATED, "ConsentChanged"])
        limit_timeline = wait_for_entries(client, pipeline.audit.url, limit, pipeline.auth, PROPAGATED)
        lookup = client.post(
            f"{pipeline.intake.url}/v1/consent/lookup",
            headers=pipeline.auth,
            json={"identifiers": {"email": alice.email, "device_id": "browser-alice"}},
        ).json()
        stranger = client.post(
            f"{pipeline.intake.url}/v1/consent/lookup",
            headers=pipeline.auth,
            json={"identifiers": {"email": "stranger@example.com"}},
        ).json()

    assert flags(pipeline, alice.email)[:2] == (True, True)
    assert flags(pipeline, bob.email) == (False, False, "health,precise_geolocation")
    assert lookup["sale_opt_out"] and lookup["share_opt_out"] and lookup["confirmation"] == "Opt-Out Request Honored"
    assert lookup["device"]["sale_opt_out"] and not lookup["may_ask_to_opt_in"]
    usca = decode_gpp(lookup["gpp"]).sections["usca"]
    assert (usca["SaleOptOut"], usca["SharingOptOut"]) == (1, 1)
    assert lookup["usp"] == "1YYN"
    assert not stranger["sale_opt_out"] and stranger["confirmation"] == "No opt-out of sale or sharing is in effect"
    record = gpc_timeline["record"]
    assert record["nature_of_response"] == "complied" and record["date_of_response"]
    applied = next(e for e in gpc_timeline["entries"] if e["event_type"] == "OptOutApplied")["details"]
    assert applied["systems_updated"] == ["demo-crm"] and applied["downstream_expected"] == ["adtech-sync"]
    ack = next(e for e in limit_timeline["entries"] if e["event_type"] == "OptOutAcknowledged")
    assert ack["producer"] == "downstream:adtech-sync" and ack["details"]["state_version"] == 1


def test_a_new_subscriber_rebuilds_exactly_the_latest_state(
    optout_pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    pipeline, (a, b, c) = optout_pipeline, demo_customers[2:5]
    with httpx.Client(timeout=10) as client:
        submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": a.email}})
        back_in = submit(client, pipeline, {"type": "opt_in", "identifiers": {"email": a.email}})
        last_b = submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": b.email}})
        last_c = submit(client, pipeline, {"type": "limit", "identifiers": {"email": c.email}})
        for request_id in (back_in, last_b, last_c):
            wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, PROPAGATED)
    expected = current_states(pipeline.config.optout_db_url or "")
    assert len(expected) == 3

    stop = threading.Event()
    fresh = ReferenceSubscriber("late-joiner", {"bootstrap.servers": pipeline.config.bootstrap_servers},
                                TopicNames(pipeline.config.topic_namespace))  # fmt: skip
    worker = threading.Thread(target=fresh.run, args=(stop,))
    worker.start()
    try:
        wait_for(lambda: {k: (s.version, s.sale_opt_out) for k, s in fresh.state.items()} == expected,
                 what="the new subscriber's state to equal the opt-out service's")  # fmt: skip
    finally:
        stop.set()
        worker.join(20)
    assert fresh.acknowledged == 3, "one acknowledgement per subject: only the latest version survives compaction"


def current_states(url: str) -> dict[str, tuple[int, bool]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT subject_key, version, sale_opt_out FROM consent_states")).all()
    finally:
        engine.dispose()
    return {row[0]: (row[1], bool(row[2])) for row in rows}


def test_opt_out_then_opt_in_keep_their_order_under_concurrent_load(
    optout_pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    pipeline, people = optout_pipeline, demo_customers[10:40]

    def flip(person: Customer) -> str:
        with httpx.Client(timeout=20) as client:
            submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": person.email}})
            return submit(client, pipeline, {"type": "opt_in", "identifiers": {"email": person.email}})

    with ThreadPoolExecutor(max_workers=10) as pool:
        last = list(pool.map(flip, people))
    with httpx.Client(timeout=10) as client:
        for request_id in last:
            wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["RequestCompleted"], timeout=60)
    states = current_states(pipeline.config.optout_db_url or "")
    assert len(states) == len(people)
    assert all(state == (2, False) for state in states.values()), states


def test_a_downstream_down_then_up_acknowledges_late_and_the_timeline_shows_it(
        optout_pipeline_config: PipelineConfig, demo_customers: list[Customer], tmp_path: Path) -> None:  # fmt: skip
    config = dataclasses.replace(
        optout_pipeline_config, extra_env={"CCPA_ACK_SLA_SECONDS": "2", "CCPA_OVERDUE_CHECK_SECONDS": "0.5"}
    )
    pipeline = Pipeline(config)
    for service in pipeline.services:
        service.start()
    try:
        with httpx.Client(timeout=10) as client:
            request_id = submit(
                client, pipeline, {"type": "opt_out", "identifiers": {"email": demo_customers[5].email}}
            )
            wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["PropagationOverdue"])
            assert pipeline.downstream is not None
            pipeline.downstream.start()
            timeline = wait_for_entries(
                client, pipeline.audit.url, request_id, pipeline.auth, ["PropagationOverdue", "OptOutAcknowledged"]
            )
    finally:
        pipeline.stop()
    order = [entry["event_type"] for entry in timeline["entries"]]
    assert order.index("OptOutApplied") < order.index("PropagationOverdue") < order.index("OptOutAcknowledged")
    overdue = next(e for e in timeline["entries"] if e["event_type"] == "PropagationOverdue")
    ack = next(e for e in timeline["entries"] if e["event_type"] == "OptOutAcknowledged")
    assert overdue["details"]["downstream"] == "adtech-sync"
    assert ack["occurred_at"] > overdue["details"]["acknowledge_by"]


def test_a_gpp_string_from_a_product_service_is_applied(optout_pipeline: Pipeline,
                                                       demo_customers: list[Customer]) -> None:  # fmt: skip
    from services.common.settings import decode_key
    from services.optout.gpp import usca_for
    from services.optout.sdk import ConsentEvents

    pipeline, customer = optout_pipeline, demo_customers[6]
    secret = decode_key(pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    events = ConsentEvents({"bootstrap.servers": pipeline.config.bootstrap_servers}, secret, "cmp",
                           pipeline.config.topic_namespace)  # fmt: skip
    try:
        events.privacy_string("email", customer.email, usca_for(False, True, {"health"}, gpc=None))
    finally:
        events.close()
    subject = events.subject_key("email", customer.email)

    def state() -> dict[str, object] | None:
        response = httpx.get(f"{pipeline.optout.url}/v1/consent/{subject}", headers=pipeline.auth)  # type: ignore[union-attr]
        body = response.json()
        return body if body["known"] else None

    current = wait_for(state, what="the GPP opt-out to reach the consent state")
    assert (current["sale_opt_out"], current["share_opt_out"]) == (True, True)
    assert current["limit_sensitive"] == ["health"] and current["source"] == "gpp"


def test_a_repeated_opt_out_sets_the_flags_again_and_shows_it_applied(
        optout_pipeline: Pipeline, demo_customers: list[Customer]) -> None:  # fmt: skip
    """The choice is already in force, but a sync reset the CRM's flags since: the second request sets them again, and
    its own timeline shows it applied (with no new state version, so no acknowledgement is due)."""
    pipeline, dana = optout_pipeline, demo_customers[7]
    with httpx.Client(timeout=10) as client:
        first = submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": dana.email}})
        wait_for_entries(client, pipeline.audit.url, first, pipeline.auth, PROPAGATED)
        engine = sa.create_engine(pipeline.config.identity_source_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE customers SET do_not_sell = false, do_not_share = false "
                                     "WHERE email = :email"), {"email": dana.email})  # fmt: skip
        finally:
            engine.dispose()
        assert flags(pipeline, dana.email)[:2] == (False, False)
        again = submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": dana.email}})
        timeline = wait_for_entries(client, pipeline.audit.url, again, pipeline.auth,
                                    ["RequestSubmitted", "OptOutApplied", "RequestCompleted"])  # fmt: skip
    assert flags(pipeline, dana.email)[:2] == (True, True)
    kinds = [entry["event_type"] for entry in timeline["entries"]]
    assert "OptOutState" not in kinds and "OptOutAcknowledged" not in kinds
    applied = next(e for e in timeline["entries"] if e["event_type"] == "OptOutApplied")["details"]
    assert applied["systems_updated"] == ["demo-crm"] and applied["downstream_expected"] == []
    assert applied["state_version"] == 1 and "already in force" in applied["note"]
    assert timeline["record"]["nature_of_response"] == "complied"
