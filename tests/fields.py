"""Events built from mappings of their payload's fields, as the codec writes them: for tests that list payloads
field by field or spoil one field. `Event` itself takes only the typed payload class of its event type."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.common.events import Event, payload_type_of


def event_of(event_type: str, subject_key: str, producer: str, payload: Mapping[str, Any],
             request_id: str | None = None, event_id: str | None = None,
             occurred_at: datetime | None = None) -> Event:  # fmt: skip
    """The event, its payload built from the mapping (a field its class does not have is refused)."""
    typed = payload_type_of(event_type).from_record(payload)
    return Event(event_type, subject_key, producer, typed, request_id, event_id, occurred_at)


def with_fields(event: Event, fields: Mapping[str, Any]) -> Event:
    """The event with its payload rebuilt from these fields (every field of the payload, by its Avro name)."""
    return dataclasses.replace(event, payload=type(event.payload).from_record(fields))
