"""One right-to-know request through intake → discovery → audit with every service writing the Confluent wire format
(CCPA_SCHEMA_REGISTRY_URL set in their environment, a real Schema Registry): the report is made and the timeline
complete, and what is on the request and result topics is wire format under TopicRecordNameStrategy subjects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from devtools.localstack import DatabaseServer
from devtools.localstack.schema_registry import SchemaRegistryServer
from services.common.topics import DISCOVERY_RESULTS, REQUESTS, TopicNames
from tests.e2e.demo_world import World, completed, demo_world, submit
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = SchemaRegistryServer(tmp_path_factory.mktemp("schema-registry"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, registry_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("registry-pipeline")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 11,
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
