"""The reference downstream acknowledges only opt-out states that meet OptOutState's contract: a nonsense state
(the consumer fuzz test publishes some) is skipped and counted, never acknowledged on a nonsense request's timeline."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from services.common.events import Event
from services.common.kafka import EventProducer, OutgoingMessage, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import OPTOUT_ACKS, OPTOUT_STATE, TopicNames, ensure_topics
from services.optout.subscriber import ReferenceSubscriber
from tests.fields import with_fields
from tests.nonsense import fields_of, well_formed
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration
CODEC = SingleObjectCodec()


class Downstream(NamedTuple):
    bootstrap: str
    topics: TopicNames
    producer: EventProducer
    subscriber: ReferenceSubscriber
    thread: threading.Thread

    def publish(self, *events: Event) -> None:
        self.producer.send_all([event_message(self.topics(OPTOUT_STATE), event, CODEC) for event in events])

    def acknowledged(self) -> set[str]:
        acks = read_topic(self.bootstrap, self.topics(OPTOUT_ACKS))
        return {CODEC.decode(message.value()).payload.state_event_id for message in acks}

    def wait_for_ack(self, state: Event) -> None:
        wait_for(lambda: state.event_id in self.acknowledged(), timeout=60, what="the valid state acknowledged")


@pytest.fixture
def downstream(kafka_bootstrap: str) -> Iterator[Downstream]:
    """A subscriber on topics of its own; its thread starts on `start()`, after what the test published first."""
    topics, stop = TopicNames(f"t{uuid.uuid4().hex[:10]}."), threading.Event()
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topics, 1, 1)
    subscriber = ReferenceSubscriber("contract-test", {"bootstrap.servers": kafka_bootstrap}, topics)
    thread = threading.Thread(target=subscriber.run, args=(stop,), daemon=True)
    producer = EventProducer({"bootstrap.servers": kafka_bootstrap}, "test-state")
    try:
        yield Downstream(kafka_bootstrap, topics, producer, subscriber, thread)
    finally:
        producer.close()
        stop.set()
        if thread.is_alive():
            thread.join(30)


def state_of(subject_key: str) -> Event:
    return dataclasses.replace(well_formed("OptOutState"), subject_key=subject_key)


def test_a_state_breaking_its_contract_is_skipped_and_never_acknowledged(downstream: Downstream) -> None:
    on_a_nonsense_request = dataclasses.replace(state_of("a1" * 32), request_id="../../etc/passwd")
    first_valid = state_of("b2" * 32)
    downstream.publish(on_a_nonsense_request, first_valid)
    downstream.thread.start()
    downstream.wait_for_ack(first_valid)  # read on rebuild
    unknown_scope = with_fields(state_of("c3" * 32), {**fields_of(state_of("c3" * 32)), "scope": "planet"})
    live_valid = state_of("d4" * 32)
    downstream.publish(unknown_scope, live_valid)
    downstream.wait_for_ack(live_valid)  # read while following live
    assert downstream.acknowledged() == {first_valid.event_id, live_valid.event_id}
    assert downstream.subscriber.skipped == 2 and sorted(downstream.subscriber.state) == ["b2" * 32, "d4" * 32]


def test_a_state_keyed_otherwise_than_its_subject_is_acknowledged_by_its_subject(downstream: Downstream) -> None:
    before = state_of("b2" * 32)
    downstream.publish(before)
    downstream.thread.start()
    downstream.wait_for_ack(before)  # rebuilt: what comes next is read while following live
    keyed_otherwise = state_of("e5" * 32)
    message = OutgoingMessage(downstream.topics(OPTOUT_STATE), b"another-key", CODEC.encode(keyed_otherwise))
    downstream.producer.send_all([message])
    downstream.wait_for_ack(keyed_otherwise)
    assert downstream.thread.is_alive(), "the subscriber died on a record keyed otherwise than its subject"


def test_states_published_after_it_has_caught_up_are_each_acknowledged(downstream: Downstream) -> None:
    """The demo's opt-out then opt-in of one consumer: read during the rebuild, only the second would be; `stack up`
    waits for `caught_up` (the ready file), so both are read live and each gets its acknowledgement."""
    downstream.thread.start()
    assert downstream.subscriber.caught_up.wait(60), "the subscriber never caught up with an empty topic"
    opted_out = state_of("f6" * 32)
    opted_back_in = dataclasses.replace(state_of("f6" * 32), event_id=str(uuid.uuid4()))
    opted_back_in = with_fields(
        opted_back_in, {**fields_of(opted_back_in), "version": fields_of(opted_out)["version"] + 1}
    )
    downstream.publish(opted_out, opted_back_in)
    downstream.wait_for_ack(opted_back_in)
    downstream.wait_for_ack(opted_out)
