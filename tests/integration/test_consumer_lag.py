"""ccpa_consumer_lag_messages on a real broker: the messages a consumer holds back count as lag, and the lag falls
to zero once it has processed and committed them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common import consumer as consumer_module
from services.common.consumer import ConsumerRunner, DeadLetterTopics, Delivery, RetryPolicy
from services.common.db import make_engine
from services.common.errors import TransientError
from services.common.event_types import EventType
from services.common.events import Event
from services.common.inbox import inbox_table
from services.common.kafka import EventProducer, event_message
from services.common.metrics import CONSUMER_LAG
from services.common.serde import SingleObjectCodec
from tests.infra import TopicFactory
from tests.nonsense import well_formed
from tests.support import wait_for

pytestmark = pytest.mark.integration
MESSAGES = 5


def test_held_messages_are_lag_until_processed_and_committed(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "LAG_EVERY_SECONDS", 0.0)
    topic, group = topic_factory("lag"), f"lag-{tmp_path.name}"
    codec, producer = SingleObjectCodec(), EventProducer({"bootstrap.servers": kafka_bootstrap}, "lag-test")
    producer.send_all([event_message(topic, well_formed("RequestCompleted"), codec) for _ in range(MESSAGES)])
    metadata = sa.MetaData()
    inbox = inbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    metadata.create_all(engine)
    healthy = threading.Event()

    def handler(_event: Event, _conn: sa.Connection, _delivery: Delivery) -> None:
        if not healthy.is_set():
            raise TransientError("the store is down")

    runner = ConsumerRunner(group_id=group, topics=[topic], kafka_config={"bootstrap.servers": kafka_bootstrap},
                            engine=engine, inbox=inbox, routes={EventType.REQUEST_COMPLETED: handler}, codec=codec,
                            producer=producer, dead_letters=DeadLetterTopics(f"{topic}-dlq", f"{topic}-failures"),
                            retry=RetryPolicy(transient_attempts=1, base_delay=0.01))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    lag = CONSUMER_LAG.labels(group, topic)
    try:
        wait_for(lambda: lag._value.get() == MESSAGES, timeout=30, what="the held messages counted as lag")
        assert not runner.caught_up.is_set(), "caught up although what was on the topic at start is not processed"
        healthy.set()
        wait_for(lambda: lag._value.get() == 0, timeout=30, what="the lag back to zero after the commit")
        wait_for(runner.caught_up.is_set, timeout=30, what="the consumer caught up with the topic's start-up end")
    finally:
        stop.set()
        thread.join(30)
        producer.close()
        engine.dispose()


def test_measuring_lag_does_not_hold_up_consuming(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lag measured after every batch over 12 partitions: on the subscribed consumer each offset query waited most of
    a second, so a message produced one at a time took ~10 s to be handled; through the probe it takes milliseconds."""
    monkeypatch.setattr(consumer_module, "LAG_EVERY_SECONDS", 0.0)
    topic, group = topic_factory("lag-busy", partitions=12), f"lag-busy-{tmp_path.name}"
    codec, producer = SingleObjectCodec(), EventProducer({"bootstrap.servers": kafka_bootstrap}, "lag-busy-test")
    metadata = sa.MetaData()
    inbox = inbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    metadata.create_all(engine)
    handled: list[str] = []

    def handler(event: Event, _conn: sa.Connection, _delivery: Delivery) -> None:
        handled.append(event.event_id)

    runner = ConsumerRunner(group_id=group, topics=[topic], kafka_config={"bootstrap.servers": kafka_bootstrap},
                            engine=engine, inbox=inbox, routes={EventType.REQUEST_COMPLETED: handler}, codec=codec,
                            producer=producer,
                            dead_letters=DeadLetterTopics(f"{topic}-dlq", f"{topic}-failures"))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        wait_for(runner.caught_up.is_set, timeout=30, what="the consumer assigned and caught up")
        for number in range(MESSAGES):
            producer.send_all([event_message(topic, well_formed("RequestCompleted"), codec)])
            wait_for(lambda count=number + 1: len(handled) >= count, timeout=3, what=f"message {number} handled in 3 s")
    finally:
        stop.set()
        thread.join(30)
        producer.close()
        engine.dispose()
