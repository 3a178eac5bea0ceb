"""Kafka producer and consumer wrappers that pin the pipeline's safety defaults once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from services.common.events import Event
from services.common.serde import SingleObjectCodec

log = logging.getLogger(__name__)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    # Java-compatible partitioning: the same subject_key lands on the same partition from any client.
    "partitioner": "murmur2_random",
    "linger.ms": 5,
    "compression.type": "lz4",
    "delivery.timeout.ms": 30000,
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": True,
    # Offsets are stored by hand, only after the handler's transaction committed (at-least-once).
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 10000,
    "max.poll.interval.ms": 300000,
    # A subscribed topic created moments ago (or a new partition) is noticed in seconds, not the default 5 min.
    "topic.metadata.refresh.interval.ms": 5000,
}


class DeliveryFailed(RuntimeError):
    """At least one message was not acknowledged by the brokers: the unit of work must fail."""


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def event_message(topic: str, event: Event, codec: SingleObjectCodec) -> OutgoingMessage:
    headers = [*event.headers(), ("content-type", codec.content_type.encode())]
    return OutgoingMessage(topic, event.subject_key.encode(), codec.encode(event), headers)


class EventProducer:
    """Idempotent, acks=all producer whose send blocks until every message is acknowledged or fails."""

    def __init__(self, kafka_config: dict[str, Any], client_id: str) -> None:
        self._config = {**PRODUCER_DEFAULTS, **kafka_config, "client.id": client_id}
        self._producer = Producer(self._config)

    def send_all(self, messages: Sequence[OutgoingMessage], timeout: float = 30.0) -> None:
        errors: list[KafkaError] = []

        def on_delivery(error: KafkaError | None, _msg: Message) -> None:
            if error is not None:
                errors.append(error)

        for message in messages:
            self._produce(message, on_delivery)
        remaining = self._producer.flush(timeout)
        if remaining or errors:
            self._recover_if_fatal(errors)
            reason = errors[0].str() if errors else f"{remaining} message(s) not acknowledged in {timeout}s"
            raise DeliveryFailed(f"delivery to Kafka failed: {reason}")

    def _produce(self, message: OutgoingMessage, on_delivery: Any) -> None:
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    headers=list(message.headers),
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                self._producer.poll(0.1)

    def _recover_if_fatal(self, errors: list[KafkaError]) -> None:
        if any(error.fatal() for error in errors):
            log.error("producer hit a fatal error; creating a new producer instance")
            self._producer = Producer(self._config)

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
