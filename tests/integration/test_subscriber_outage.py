"""The reference downstream waits for a broker that is away when it starts, instead of exiting (make chaos found it
dying with a broker down, and then nothing acknowledged opt-outs until something restarted it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import OPTOUT_ACKS, OPTOUT_STATE, TopicNames, ensure_topics
from services.optout.subscriber import ReferenceSubscriber
from tests.nonsense import well_formed
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.integration


def test_the_subscriber_outlives_a_broker_that_is_down_at_start(kafka_cluster_factory: Callable[..., object]) -> None:
    cluster = kafka_cluster_factory(brokers=1)
    bootstrap = cluster.bootstrap_servers  # type: ignore[attr-defined]
    topics, stop = TopicNames(f"t{uuid.uuid4().hex[:10]}."), threading.Event()
    subscriber = ReferenceSubscriber("outage-test", {"bootstrap.servers": bootstrap}, topics)
    thread = threading.Thread(target=subscriber.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: subscriber.kafka_failures >= 1 or not thread.is_alive(), timeout=60,
                 what="a failed attempt while no broker runs")  # fmt: skip
        assert thread.is_alive(), "the subscriber exited when it could not reach a broker"
        cluster.start()  # type: ignore[attr-defined]
        ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), topics, 1, 1)
        state = well_formed("OptOutState")
        producer = EventProducer({"bootstrap.servers": bootstrap}, "test-state")
        producer.send_all([event_message(topics(OPTOUT_STATE), state, SingleObjectCodec())])
        producer.close()

        acks = wait_for(lambda: read_topic(bootstrap, topics(OPTOUT_ACKS)), timeout=90, what="the acknowledgement")
        assert thread.is_alive(), "the subscriber exited instead of waiting for the broker"
        assert [SingleObjectCodec().decode(m.value()).payload.state_event_id for m in acks] == [state.event_id]
    finally:
        stop.set()
        thread.join(30)
