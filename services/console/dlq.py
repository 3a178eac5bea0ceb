"""How many messages wait on the dead-letter topic (privacy.dlq): the sum over its partitions of high minus low
watermark, read with a consumer that joins no group and reads nothing; kept a few seconds so pages stay quick."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

CACHE_SECONDS = 5.0
TIMEOUT_SECONDS = 3.0


class DeadLetterCount:
    """The DLQ's size, or None while the broker cannot say (the dashboard says so)."""

    def __init__(self, kafka_config: dict[str, Any], topic: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.kafka_config = kafka_config
        self.topic = topic
        self.clock = clock
        self.lock = threading.Lock()
        self.consumer: Consumer | None = None
        self.cached: tuple[float, int | None] | None = None

    def size(self) -> int | None:
        with self.lock:
            if self.cached is not None and self.clock() - self.cached[0] < CACHE_SECONDS:
                return self.cached[1]
            counted = self._count()
            self.cached = (self.clock(), counted)
            return counted

    def gauge_value(self) -> float:
        """The size for the `ccpa_dlq_messages` gauge: NaN while unknown, so a scrape never fails on Kafka."""
        size = self.size()
        return math.nan if size is None else float(size)

    def close(self) -> None:
        with self.lock:
            if self.consumer is not None:
                self.consumer.close()
                self.consumer = None

    def _count(self) -> int | None:
        try:
            consumer = self._consumer()
            metadata = consumer.list_topics(self.topic, timeout=TIMEOUT_SECONDS).topics.get(self.topic)
            if metadata is None or metadata.error is not None:
                return None
            return sum(waiting(*consumer.get_watermark_offsets(TopicPartition(self.topic, partition),
                                                                timeout=TIMEOUT_SECONDS))
                       for partition in metadata.partitions)  # fmt: skip
        except KafkaException:
            return None

    def _consumer(self) -> Consumer:
        if self.consumer is None:
            # A group id is required to build a consumer; it never subscribes, so it never joins that group.
            self.consumer = Consumer({**self.kafka_config, "group.id": f"ccpa-console-dlq-{uuid.uuid4()}",
                                      "enable.auto.commit": False})  # fmt: skip
        return self.consumer


def waiting(low: int, high: int) -> int:
    """Messages held by one partition (a watermark of -1 means the broker has none to report)."""
    return max(0, high - max(low, 0)) if high >= 0 else 0
