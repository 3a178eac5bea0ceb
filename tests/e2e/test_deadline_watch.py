"""End to end through HTTP and Kafka: a know request whose store is down passes its (test-shortened) deadline;
DeadlineMissed reaches the timeline and the gauge, once, and a restarted audit does not announce it again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.localstack import DatabaseServer
from services.common.serde import SingleObjectCodec
from services.common.topics import DEADLINES, TopicNames
from tests.e2e.demo_world import World, demo_world, submit
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e

# The watch's clock runs 46 days ahead: the 45-day respond deadline of a request received now has passed for it.
SKEWED = {"CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS": "46", "CCPA_AUDIT_WATCH_SECONDS": "1"}
CODEC = SingleObjectCodec()


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("deadline-world")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 12) as w:
        yield w


def restart_audit(world: World, env: dict[str, str]) -> None:
    world.pipeline.audit.stop()
    world.pipeline.audit.start(extra_env=env)


def gauges(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{world.pipeline.audit.url}/metrics", headers=world.pipeline.auth_of("monitoring"))
    response.raise_for_status()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}  # fmt: skip


def overdue(world: World, request_type: str) -> float:
    key = ("ccpa_audit_open_requests", (("request_type", request_type), ("state", "overdue")))
    return gauges(world).get(key, 0.0)


def missed_entry(world: World, request_id: str) -> dict[str, Any] | None:
    entries = world.timeline(request_id)
    return next(
        (e for e in entries if e["event_type"] == "DeadlineMissed" and e["details"]["clock"] == "respond"), None
    )


def missed_on_topic(world: World, request_id: str) -> list[Any]:
    config = world.pipeline.config
    topic = TopicNames(config.topic_namespace)(DEADLINES)
    events = [CODEC.decode(message.value() or b"") for message in read_topic(config.bootstrap_servers, topic)]
    return [e for e in events if e.request_id == request_id and e.event_type == "DeadlineMissed"]


def test_a_request_whose_store_is_down_is_missed_once_on_the_timeline_and_the_gauge(world: World) -> None:
    world.providers["mailer"].stop()
    request_id = submit(world, world.customers[0], "know_categories")
    wait_for(lambda: [e for e in world.timeline(request_id) if e["event_type"] == "StoreSearched"
                      and e["details"]["outcome"] == "unavailable"], timeout=60, what="mailer unavailable")  # fmt: skip
    assert not [e for e in world.timeline(request_id) if e["event_type"].startswith("Deadline")]

    restart_audit(world, SKEWED)
    entry = wait_for(lambda: missed_entry(world, request_id), timeout=60, what="DeadlineMissed on the timeline")
    assert entry["details"]["request_type"] == "know_categories"
    assert world.get(request_id)["status"] != "completed"
    assert wait_for(lambda: overdue(world, "know_categories") >= 1, timeout=30, what="overdue gauge")
    first = wait_for(lambda: missed_on_topic(world, request_id), timeout=30, what="DeadlineMissed on the topic")

    restart_audit(world, SKEWED)
    # The restarted watch has ticked (its gauges exist again) and its outbox is empty: anything it produced is out.
    wait_for(lambda: overdue(world, "know_categories") >= 1, timeout=30, what="gauge after the restart")
    wait_for(lambda: gauges(world).get(("ccpa_outbox_pending", ())) == 0, timeout=30, what="outbox drained")
    again = missed_on_topic(world, request_id)
    assert [(e.event_id, e.payload.clock) for e in again] == [(e.event_id, e.payload.clock) for e in first]
    clocks = [e["details"]["clock"] for e in world.timeline(request_id) if e["event_type"] == "DeadlineMissed"]
    assert sorted(clocks) == sorted(set(clocks)) and "respond" in clocks
