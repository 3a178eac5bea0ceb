"""The event envelope every topic carries: id, type, time, request, subject, producer and a typed payload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def strictly_after(instant: datetime) -> datetime:
    """Now, but never equal to the instant of the event that caused this one, so timelines sort causally."""
    return max(utcnow(), instant + timedelta(microseconds=1))


@dataclass(frozen=True)
class Event:
    event_type: str
    subject_key: str
    producer: str
    payload: Mapping[str, Any]
    request_id: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=utcnow)

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "subject_key": self.subject_key,
            "producer": self.producer,
            "payload": dict(self.payload),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Event:
        return cls(
            event_type=record["event_type"],
            subject_key=record["subject_key"],
            producer=record["producer"],
            payload=record["payload"],
            request_id=record.get("request_id"),
            event_id=str(record["event_id"]),
            occurred_at=record["occurred_at"],
        )

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers: identify the event without decoding it, so even a poison message can be attributed."""
        pairs = [("event_type", self.event_type), ("event_id", self.event_id), ("producer", self.producer)]
        if self.request_id:
            pairs.append(("request_id", self.request_id))
        return [(name, value.encode()) for name, value in pairs]
