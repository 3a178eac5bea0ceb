"""Each consuming service's routing table: known event types on the topics it subscribes to, callable handlers,
one table given to the consumer runner, and an event type outside the table passing untouched."""

from __future__ import annotations

from typing import Any, cast

import pytest
import sqlalchemy as sa

from services.audit import handlers as audit
from services.audit.bootstrap import AUDITED_TOPICS
from services.common.consumer import ConsumerRunner, Delivery, Routes, dispatch
from services.common.event_types import EventType
from services.common.topics import EVENT_TYPES_ON, TopicSpec
from services.deletion import handlers as deletion
from services.discovery import handlers as discovery
from services.intake import results as intake
from services.optout import handlers as optout
from tests.nonsense import well_formed

NOTHING = cast(Any, None)  # collaborators the tables never call while being built
HERE = Delivery("t", 0, 0)


def tables() -> dict[str, tuple[Routes, tuple[TopicSpec, ...]]]:
    """Each consumer group's routing table and the topics its bootstrap subscribes it to."""
    return {
        "audit": (audit.ROUTES, AUDITED_TOPICS),
        "intake": (intake.ResultHandlers(NOTHING).routes, intake.SUBSCRIBED),
        "discovery": (discovery.DiscoveryHandlers(NOTHING, NOTHING, NOTHING).routes, discovery.SUBSCRIBED),
        "deletion": (deletion.DeletionHandlers().routes, deletion.SUBSCRIBED),
        "optout": (optout.OptoutHandlers(NOTHING, NOTHING, NOTHING, NOTHING, []).routes, optout.SUBSCRIBED),
    }


EXPECTED = {
    "intake": {EventType.REQUEST_COMPLETED, EventType.REQUEST_DENIED, EventType.REPORT_READY,
               EventType.DELETION_COMPLETED},
    "discovery": {EventType.REQUEST_SUBMITTED, EventType.DELETION_COMPLETED},
    "deletion": {EventType.REQUEST_SUBMITTED, EventType.DISCOVERY_COMPLETED},
    "optout": {EventType.REQUEST_SUBMITTED, EventType.CONSENT_CHANGED, EventType.OPT_OUT_ACKNOWLEDGED},
}  # fmt: skip


def test_every_topic_but_the_dlq_carries_known_event_types_and_every_type_travels() -> None:
    assert set().union(*EVENT_TYPES_ON.values()) == set(EventType)


@pytest.mark.parametrize("service", sorted(tables()))
def test_a_table_routes_known_event_types_of_its_topics_to_callables(service: str) -> None:
    routes, topics = tables()[service]
    carried = set().union(*(EVENT_TYPES_ON[topic.base_name] for topic in topics))
    assert routes, f"{service} routes nothing"
    for event_type, handler in routes.items():
        assert isinstance(event_type, EventType), f"{service}: {event_type!r} is not an EventType"
        assert event_type in carried, f"{service} routes {event_type} but subscribes to no topic carrying it"
        assert callable(handler)


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_each_service_acts_on_the_event_types_it_did_before(service: str) -> None:
    routes, _ = tables()[service]
    assert set(routes) == EXPECTED[service]


def test_audit_puts_every_event_type_on_the_timeline() -> None:
    assert set(audit.ROUTES) == set(EventType)


@pytest.mark.parametrize("service", ["intake", "discovery", "deletion", "optout"])
def test_an_event_type_not_in_the_table_passes_untouched(service: str) -> None:
    routes, _ = tables()[service]
    outside = next(event_type for event_type in EventType if event_type not in routes)
    # A connection that fails on any use: dispatching an unrouted event must not touch the database.
    dispatch(routes, well_formed(outside), cast(sa.Connection, object()), HERE)


def test_dispatch_calls_the_routed_handler_with_the_event() -> None:
    seen: list[tuple[str, Delivery]] = []
    routes: Routes = {EventType.REQUEST_DENIED: lambda event, _conn, where: seen.append((event.event_id, where))}
    event = well_formed("RequestDenied")
    dispatch(routes, event, cast(sa.Connection, object()), HERE)
    dispatch(routes, well_formed("RequestCompleted"), cast(sa.Connection, object()), HERE)
    assert seen == [(event.event_id, HERE)]


def test_the_runner_checks_the_contracts_of_exactly_the_routed_types() -> None:
    routes = tables()["deletion"][0]
    runner = ConsumerRunner(group_id="g", topics=["t"], kafka_config={"bootstrap.servers": "127.0.0.1:9"},
                            engine=NOTHING, inbox=NOTHING, routes=routes, codec=NOTHING, producer=NOTHING,
                            dead_letters=NOTHING)  # fmt: skip
    try:
        assert runner.handles == EXPECTED["deletion"]
    finally:
        runner.consumer.close()
