"""Kafka producer and consumer wrappers that pin the pipeline's safety defaults once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

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


# What the at-least-once pipeline rests on; CCPA_KAFKA_EXTRA_CONFIG may add SASL/TLS and tuning, never these.
# Keys are librdkafka's names and aliases (CONFIGURATION.md): request.required.acks is acks, the topic-level
# auto.commit.enable is the legacy name of enable.auto.commit.
PINNED_SETTINGS: dict[str, str] = {
    "enable.idempotence": "the producer is idempotent so a retried send never duplicates or reorders an event",
    "acks": "every event is on all in-sync replicas before its outbox row is deleted (acks=all)",
    "request.required.acks": "it is librdkafka's name for acks: every event is on all in-sync replicas first",
    "enable.auto.commit": "stored offsets are committed in the background, and only stored ones",
    "auto.commit.enable": "it is the legacy name of enable.auto.commit, which the consumers pin",
    "enable.auto.offset.store": "an offset is stored by hand only after the handler's transaction committed",
    "isolation.level": "consumers read committed records only",
}
NESTED_TOPIC_CONFIG = ("default.topic.config", "default_topic_conf")


def pinned_setting(key: str) -> str | None:
    """The pinned setting `key` names, in any case, with `_` or `-` for dots, or with a `topic.` prefix; else None."""
    normal = key.strip().lower().replace("_", ".").replace("-", ".")
    for prefix in ("default.topic.config.", "topic."):
        normal = normal.removeprefix(prefix)
    return normal if normal in PINNED_SETTINGS else None


def pinned_overrides(config: dict[str, Any], within: str = "") -> list[str]:
    """Why each key of `config` that would override a pinned setting may not (nested topic configs included)."""
    refused = []
    for key, value in config.items():
        if key.strip().lower() in NESTED_TOPIC_CONFIG and isinstance(value, dict):
            refused.extend(pinned_overrides(value, f"{within}{key}."))
        elif (pinned := pinned_setting(key)) is not None:
            refused.append(f"'{within}{key}' is pinned: {PINNED_SETTINGS[pinned]}")
    return refused


class DeliveryFailed(RuntimeError):
    """At least one message was not acknowledged by the brokers: the unit of work must fail."""


# Errors that sending the same bytes again can never cure: the message itself is refused (too large, invalid).
UNPUBLISHABLE = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_RECORD,
        KafkaError.RECORD_LIST_TOO_LARGE,
    }
)


def unpublishable(error: KafkaError) -> bool:
    """True when this message can never be published as it is (retrying would block whatever follows it)."""
    return error.code() in UNPUBLISHABLE


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone, on a compacted topic
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def event_message(topic: str, event: Event, codec: SingleObjectCodec) -> OutgoingMessage:
    headers = [*event.headers(), ("content-type", codec.content_type.encode())]
    return OutgoingMessage(topic, event.subject_key.encode(), codec.encode(event, topic), headers)


class EventProducer:
    """Idempotent, acks=all producer whose send blocks until every message is acknowledged or fails."""

    def __init__(self, kafka_config: dict[str, Any], client_id: str) -> None:
        self._config = {**PRODUCER_DEFAULTS, **kafka_config, "client.id": client_id}
        self._producer = Producer(self._config)

    def send_all(self, messages: Sequence[OutgoingMessage], timeout: float = 30.0) -> None:
        errors = [error for error in self.deliver(messages, timeout) if error is not None]
        if errors:
            raise DeliveryFailed(f"delivery to Kafka failed: {errors[0].str()}")

    def deliver(self, messages: Sequence[OutgoingMessage], timeout: float = 30.0) -> list[KafkaError | None]:
        """Send every message and wait; per message, in order: None once acknowledged, else why it was not."""
        outcomes: list[KafkaError | None] = [KafkaError(KafkaError._MSG_TIMED_OUT)] * len(messages)

        def acknowledged(index: int) -> Any:
            def on_delivery(error: KafkaError | None, _msg: Message) -> None:
                outcomes[index] = error

            return on_delivery

        for index, message in enumerate(messages):
            refused = self._produce(message, acknowledged(index))
            if refused is not None:
                outcomes[index] = refused
        self._producer.flush(timeout)
        self._recover_if_fatal([error for error in outcomes if error is not None])
        return outcomes

    def _produce(self, message: OutgoingMessage, on_delivery: Any) -> KafkaError | None:
        """Queue one message; the error when librdkafka refuses it at once (e.g. larger than message.max.bytes)."""
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    headers=list(message.headers),
                    on_delivery=on_delivery,
                )
                return None
            except BufferError:
                self._producer.poll(0.1)
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                return error

    def _recover_if_fatal(self, errors: list[KafkaError]) -> None:
        if any(error.fatal() for error in errors):
            log.error("producer hit a fatal error; creating a new producer instance")
            self._producer = Producer(self._config)

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
