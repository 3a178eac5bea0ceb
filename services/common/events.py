"""The event envelope every topic carries: id, type, time, request, subject, producer and a typed payload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

from typing_extensions import TypeVar

from services.common.event_types import EventType
from services.common.payloads import PAYLOAD_TYPES
from services.common.records import Record

# Bare `Event` is an event of any type (payload: Record); `Event[RequestSubmittedPayload]` is one of a known type.
P = TypeVar("P", bound=Record, covariant=True, default=Record)


def utcnow() -> datetime:
    return datetime.now(UTC)


def strictly_after(instant: datetime) -> datetime:
    """Now, but never equal to the instant of the event that caused this one, so timelines sort causally."""
    return max(utcnow(), instant + timedelta(microseconds=1))


def event_type_of(name: str) -> EventType:
    try:
        return EventType(name)
    except ValueError:
        raise ValueError("event_type is not a known event type") from None  # the name could be anything


def payload_type_of(event_type: str) -> type[Record]:
    """The payload class an event type carries (services/common/payloads)."""
    return PAYLOAD_TYPES[event_type_of(event_type)]


def checked_payload(event_type: str, payload: Record) -> Record:
    """The payload, if it is of its event type's class: a mapping or another type's payload is refused."""
    payload_type = payload_type_of(event_type)
    if not isinstance(payload, payload_type):
        raise TypeError(f"a {event_type} carries a {payload_type.__name__}, not a {type(payload).__name__}")
    return payload


@dataclass(frozen=True, init=False)
class Event(Generic[P]):
    """One event; its payload is the typed class of its event type (services/common/payloads), never a mapping."""

    event_type: EventType
    subject_key: str
    producer: str
    payload: P
    request_id: str | None
    event_id: str
    occurred_at: datetime

    def __init__(self, event_type: str, subject_key: str, producer: str, payload: P,
                 request_id: str | None = None, event_id: str | None = None,
                 occurred_at: datetime | None = None) -> None:  # fmt: skip
        values = {"event_type": event_type_of(event_type), "subject_key": subject_key, "producer": producer,
                  "payload": checked_payload(event_type, payload), "request_id": request_id,
                  "event_id": event_id or str(uuid.uuid4()), "occurred_at": occurred_at or utcnow()}  # fmt: skip
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": str(self.event_type),
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "subject_key": self.subject_key,
            "producer": self.producer,
            "payload": self.payload.to_record(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Event[Record]:
        return Event(
            record["event_type"],
            record["subject_key"],
            record["producer"],
            payload_type_of(record["event_type"]).from_record(record["payload"]),
            request_id=record.get("request_id"),
            event_id=str(record["event_id"]),
            occurred_at=record["occurred_at"],
        )

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers: identify the event without decoding it, so even a poison message can be attributed."""
        pairs = [("event_type", str(self.event_type)), ("event_id", self.event_id), ("producer", self.producer)]
        if self.request_id:
            pairs.append(("request_id", self.request_id))
        return [(name, value.encode()) for name, value in pairs]
