"""The console's DLQ size as a Prometheus gauge: the messages waiting on the real broker's topic, NaN once Kafka is
out of reach, so a scrape never fails."""

from __future__ import annotations

import math

import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from services.common.metrics import DLQ_MESSAGES
from services.console.dlq import DeadLetterCount
from tests.infra import TopicFactory

pytestmark = pytest.mark.integration


def test_the_gauge_counts_the_messages_on_the_dead_letter_topic(kafka_bootstrap: str,
                                                                topic_factory: TopicFactory) -> None:  # fmt: skip
    topic = topic_factory("dlq", partitions=3)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for number in range(5):
        producer.produce(topic, key=f"subject-{number}".encode(), value=b"poison")
    assert producer.flush(10) == 0
    count = DeadLetterCount({"bootstrap.servers": kafka_bootstrap}, topic, clock=iter(range(0, 1000, 10)).__next__)
    try:
        DLQ_MESSAGES.set_function(count.gauge_value)
        assert REGISTRY.get_sample_value("ccpa_dlq_messages") == 5.0
        producer.produce(topic, value=b"one more")
        producer.flush(10)
        assert REGISTRY.get_sample_value("ccpa_dlq_messages") == 6.0  # the clock moved past the 5 s cache
    finally:
        count.close()


def test_the_gauge_is_nan_while_kafka_does_not_answer() -> None:
    count = DeadLetterCount({"bootstrap.servers": "127.0.0.1:1", "socket.timeout.ms": 1000}, "privacy.dlq")
    try:
        assert math.isnan(count.gauge_value())
    finally:
        count.close()
