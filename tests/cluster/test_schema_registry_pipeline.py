"""One right-to-know request through intake → discovery → audit with every service writing the Confluent wire format
(CCPA_SCHEMA_REGISTRY_URL set in their environment, a real Schema Registry): the report is made and the timeline
complete, and what is on the request and result topics is wire format under TopicRecordNameStrategy subjects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from devtools.localstack import DatabaseServer
from services.common.topics import DISCOVERY_RESULTS, OPTOUT_ACKS, OPTOUT_STATE, REQUESTS, TopicNames
from tests.e2e.demo_world import World, completed, demo_world, on_timeline, submit
from tests.scenarios.flows import subscriber_emails
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, registry_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("registry-pipeline")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 11, with_optout=True,
                    extra_env={"CCPA_SCHEMA_REGISTRY_URL": registry_url}) as built:  # fmt: skip
        yield built


def test_a_request_goes_through_in_the_wire_format(world: World, registry_url: str) -> None:
    request_id = submit(world, world.customers[0])
    status = completed(world, request_id, timeout=90)
    assert status["response"]["by"] == "discovery" and status["report"]["links"]

    def timeline() -> list[str] | None:
        kinds = [entry["event_type"] for entry in world.timeline(request_id)]
        return kinds if "RequestCompleted" in kinds and "DiscoveryCompleted" in kinds else None

    kinds = wait_for(timeline, what="the request's timeline in audit, read from wire-format events")
    assert "RequestSubmitted" in kinds
    config = world.pipeline.config
    topics = TopicNames(config.topic_namespace)
    subjects = set(SchemaRegistryClient({"url": registry_url}).get_subjects())
    for spec in (REQUESTS, DISCOVERY_RESULTS):
        messages = read_topic(config.bootstrap_servers, topics(spec))
        assert messages and all((m.value() or b"")[:1] == b"\x00" for m in messages), topics(spec)
        assert any(subject.startswith(f"{topics(spec)}-privacy.events.") for subject in subjects), subjects
    assert f"{topics(REQUESTS)}-privacy.events.RequestSubmitted" in subjects


def test_an_opt_out_reaches_the_downstream_and_its_acknowledgement_audit_in_the_wire_format(
    world: World, registry_url: str
) -> None:
    # On the demo's marketing list: a subject the reference downstream holds, so it acknowledges the opt-out.
    listed = {email.lower() for email in subscriber_emails(world)}
    subject = next(customer for customer in reversed(world.customers) if customer.email.lower() in listed)
    request_id = submit(world, subject, "opt_out")
    # optout writes the state, the downstream reads it and acknowledges, audit reads the acknowledgement: all three
    # decode and encode the registry's wire format (a single-object-only reader would skip the state and never ack).
    on_timeline(world, request_id, {"OptOutApplied", "RequestCompleted", "OptOutAcknowledged"})
    topics = TopicNames(world.pipeline.config.topic_namespace)
    for spec in (OPTOUT_STATE, OPTOUT_ACKS):
        messages = read_topic(world.pipeline.config.bootstrap_servers, topics(spec))
        assert messages and all((m.value() or b"")[:1] == b"\x00" for m in messages), topics(spec)
