"""Where a consumed event came from, and what a consumer sends when it cannot apply one: the message itself on the
dead-letter topic with diagnostics in its headers, and a RequestFailed on the failures topic for the timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Message

from services.common import contracts
from services.common.errors import describe_error
from services.common.event_types import EventType
from services.common.events import Event
from services.common.kafka import OutgoingMessage, event_message
from services.common.payloads.requests import RequestFailedPayload
from services.common.serde import SingleObjectCodec


@dataclass(frozen=True)
class Delivery:
    """Where an event came from; handlers use it for provenance (audit) and nothing else."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, message: Message) -> Delivery:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            raise ValueError("a consumed message without topic, partition or offset")
        return cls(topic, partition, offset)


@dataclass(frozen=True)
class DeadLetterTopics:
    dlq: str
    failures: str


def dlq_message(topic: str, group_id: str, message: Message, exc: Exception, attempts: int) -> OutgoingMessage:
    """The message as it was (key, value, headers), with where it came from and why it failed beside."""
    where = Delivery.of(message)
    diagnostics = {
        "dlq.source.topic": where.topic,
        "dlq.source.partition": str(where.partition),
        "dlq.source.offset": str(where.offset),
        "dlq.consumer.group": group_id,
        "dlq.error.class": type(exc).__name__,
        "dlq.error.message": describe_error(exc),
        "dlq.attempts": str(attempts),
        "dlq.failed.at": datetime.now(UTC).isoformat(),
    }
    headers = [*_byte_headers(message), *((k, v.encode()) for k, v in diagnostics.items())]
    return OutgoingMessage(topic, message.key(), message.value() or b"", headers)


def failure_message(topic: str, group_id: str, message: Message, event: Event | None, exc: Exception, attempts: int,
                    codec: SingleObjectCodec) -> OutgoingMessage:  # fmt: skip
    where, headers = Delivery.of(message), dict(_byte_headers(message))
    failed = request_failed(group_id, where, headers, message.key(), event, exc, attempts)
    return event_message(topic, failed, codec)


def request_failed(
    group_id: str,
    where: Delivery,
    headers: dict[str, bytes],
    key: bytes | None,
    event: Event | None,
    exc: Exception,
    attempts: int,
) -> Event[RequestFailedPayload]:
    """RequestFailed meets its own contract whatever the failed message held: only well-formed ids pass on."""
    failed_type = str(event.event_type) if event else _text(headers.get("event_type"))
    return Event(
        event_type=EventType.REQUEST_FAILED,
        subject_key=_first(contracts.is_subject_key, event.subject_key if event else None, _text(key))
        or contracts.UNKNOWN_SUBJECT,
        producer=group_id,
        request_id=_first(contracts.is_uuid, event.request_id if event else None, _text(headers.get("request_id"))),
        payload=RequestFailedPayload(
            failed_event_id=_first(
                contracts.is_uuid, event.event_id if event else None, _text(headers.get("event_id"))
            ),
            failed_event_type=_first(contracts.is_name, failed_type),
            source_topic=where.topic,
            source_partition=where.partition,
            source_offset=where.offset,
            consumer_group=group_id,
            error_class=type(exc).__name__,
            error=describe_error(exc).replace("\x00", ""),
            attempts=attempts,
        ),
    )


def _byte_headers(message: Message) -> list[tuple[str, bytes]]:
    pairs: list[tuple[str, str | bytes | None]] = list(message.headers() or [])  # type: ignore[arg-type]
    return [(name, value.encode() if isinstance(value, str) else value or b"") for name, value in pairs]


def _first(valid: Callable[[object], bool], *candidates: str | None) -> str | None:
    return next((candidate for candidate in candidates if candidate and valid(candidate)), None)


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else value
