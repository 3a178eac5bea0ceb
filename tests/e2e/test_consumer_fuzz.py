"""Every consumer against valid Avro with nonsense content: each event ends in the DLQ with a RequestFailed from
every consumer that handles its type, no service opens a request for it, and valid requests after it still flow."""

from __future__ import annotations

import random
from functools import partial

import pytest
import sqlalchemy as sa
from confluent_kafka import KafkaException

from services.audit import orm as audit_orm
from services.common.events import Event
from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import (
    CONSENT_CHANGES,
    DELETION_RESULTS,
    DISCOVERY_RESULTS,
    DLQ,
    FAILURES,
    OPTOUT_ACKS,
    OPTOUT_RESULTS,
    OPTOUT_STATE,
    REQUESTS,
    TopicNames,
)
from services.deletion import orm as deletion_orm
from services.discovery import orm as discovery_orm
from tests.e2e.demo_world import World, submit
from tests.nonsense import nonsense
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e

SEED = 11
ISSUE_NONSENSE = ("unknown request type", "due in 9999", "no request id")  # what issue 11 saw materialise
# Where each event type travels (docs/architecture.md, "Events and topics").
TOPIC_TYPES: dict[str, tuple[str, ...]] = {
    REQUESTS.base_name: ("RequestSubmitted", "RequestSubmitted", "RequestDenied", "RequestExtended",
                         "ReportDownloaded"),
    CONSENT_CHANGES.base_name: ("ConsentChanged", "ConsentChanged"),
    OPTOUT_ACKS.base_name: ("OptOutAcknowledged",),
    DISCOVERY_RESULTS.base_name: ("DiscoveryStarted", "StoreSearched", "DiscoveryCompleted", "DiscoveryCompleted",
                                  "ReportReady", "ReportDestroyed", "RequestCompleted"),
    DELETION_RESULTS.base_name: ("StoreErased", "DeletionVerified", "ProviderInstructed", "ProviderConfirmed",
                                 "ProviderOverdue", "DeletionCompleted", "RequestCompleted"),
    OPTOUT_STATE.base_name: ("OptOutState",),
    OPTOUT_RESULTS.base_name: ("OptOutApplied", "RequestDenied", "PropagationOverdue"),
    FAILURES.base_name: ("RequestFailed",),
}  # fmt: skip
# Each consumer group: the topics it reads and the event types it acts on (the others it ignores).
CONSUMERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "ccpa-audit": (tuple(TOPIC_TYPES), frozenset(t for types in TOPIC_TYPES.values() for t in types)),
    "ccpa-intake": ((DISCOVERY_RESULTS.base_name, DELETION_RESULTS.base_name, OPTOUT_RESULTS.base_name),
                    frozenset({"RequestCompleted", "RequestDenied", "ReportReady", "DeletionCompleted"})),
    "ccpa-discovery": ((REQUESTS.base_name, DELETION_RESULTS.base_name),
                       frozenset({"RequestSubmitted", "DeletionCompleted"})),
    "ccpa-deletion": ((REQUESTS.base_name, DISCOVERY_RESULTS.base_name),
                      frozenset({"RequestSubmitted", "DiscoveryCompleted"})),
    "ccpa-optout": ((REQUESTS.base_name, CONSENT_CHANGES.base_name, OPTOUT_ACKS.base_name),
                    frozenset({"RequestSubmitted", "ConsentChanged", "OptOutAcknowledged"})),
}  # fmt: skip


@pytest.fixture
def world(full_world: World) -> World:
    return full_world


def publish_nonsense(world: World, rng: random.Random) -> list[tuple[str, Event, str]]:
    """The issue's three nonsense requests first, then one spoiled event per (topic, type) above."""
    names, codec = TopicNames(world.pipeline.config.topic_namespace), SingleObjectCodec()
    published = [(REQUESTS.base_name, *nonsense("RequestSubmitted", rng, how)) for how in ISSUE_NONSENSE]
    published += [(topic, *nonsense(event_type, rng)) for topic, types in TOPIC_TYPES.items() for event_type in types]
    producer = EventProducer({"bootstrap.servers": world.pipeline.config.bootstrap_servers}, client_id="fuzz")
    try:
        producer.send_all([event_message(names.namespace + topic, event, codec) for topic, event, _ in published])
    finally:
        producer.close()
    return published


def expected_refusals(published: list[tuple[str, Event, str]]) -> set[tuple[str, str]]:
    """(consumer group, event id) for every consumer that reads the event's topic and handles its type."""
    return {
        (group, event.event_id)
        for topic, event, _ in published
        for group, (topics, handled) in CONSUMERS.items()
        if topic in topics and event.event_type in handled
    }


def dead_lettered(world: World) -> set[tuple[str, str]]:
    names = TopicNames(world.pipeline.config.topic_namespace)
    found = set()
    for message in read_topic(world.pipeline.config.bootstrap_servers, names(DLQ)):
        headers = {name: value or b"" for name, value in message.headers() or []}
        found.add((_text(headers["dlq.consumer.group"]), _text(headers.get("event_id", b""))))
    return found


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def failures(world: World) -> set[tuple[str, str]]:
    names, codec = TopicNames(world.pipeline.config.topic_namespace), SingleObjectCodec()
    events = [codec.decode(m.value()) for m in read_topic(world.pipeline.config.bootstrap_servers, names(FAILURES))]
    return {(e.payload.consumer_group, e.payload.failed_event_id) for e in events if e.producer != "intake"}


def rows_for(url: str, table: sa.Table, request_ids: list[str]) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(table.c.request_id).where(table.c.request_id.in_(request_ids))
            return [row.request_id for row in conn.execute(query)]
    finally:
        engine.dispose()


def test_nonsense_events_are_refused_by_every_consumer_and_open_no_request(world: World) -> None:
    published = publish_nonsense(world, random.Random(SEED))
    expected = expected_refusals(published)
    missing: set[tuple[str, str]] = set()

    def all_refused() -> bool:
        missing.clear()
        try:
            missing.update(expected - dead_lettered(world))
            missing.update(expected - failures(world))
        except KafkaException:  # a partition between leaders: read again on the next poll
            missing.update(expected)
        return not missing

    try:
        wait_for(all_refused, timeout=120, interval=1.0, what="every nonsense event in the DLQ with a RequestFailed")
    except AssertionError as exc:
        spoiled = {event.event_id: f"{event.event_type} ({how})" for _, event, how in published}
        raise AssertionError(f"{exc}; not refused: {sorted((g, spoiled[e]) for g, e in missing)}") from None

    request_ids = sorted({e.request_id for _, e, _ in published if e.request_id and len(e.request_id) == 36})
    config = world.pipeline.config
    assert rows_for(config.audit_db_url, audit_orm.request_records, request_ids) == []
    assert rows_for(str(config.discovery_db_url), discovery_orm.runs, request_ids) == []
    assert rows_for(str(config.deletion_db_url), deletion_orm.jobs, request_ids) == []
    for request_id in request_ids:
        assert {entry["event_type"] for entry in world.timeline(request_id)} <= {"RequestFailed"}

    # The consumers kept going: real requests sent after the nonsense are answered.
    know = submit(world, world.customers[3], "know_categories")
    opt_out = submit(world, world.customers[4], "opt_out")
    delete = submit(world, world.customers[5], "delete")
    for request_id in (know, opt_out):
        wait_for(partial(answered, world, request_id), timeout=90, what=f"answer to {request_id}")
    wait_for(
        lambda: rows_for(str(config.deletion_db_url), deletion_orm.jobs, [delete]), timeout=60, what="deletion job"
    )


def answered(world: World, request_id: str) -> bool:
    return bool(world.get(request_id)["status"] == "completed")
