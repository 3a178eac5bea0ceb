"""Deletion use cases on the event streams: a verified delete or correct request opens a job; discovery's inventory
for it (every identifier the walk reached, sealed) makes the job ready to erase or correct."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from services.common.consumer import Delivery
from services.common.crypto import Sealed
from services.common.db import insert_for
from services.common.events import Event, utcnow
from services.deletion import orm
from services.discovery.handlers import needs_discovery

PRODUCER = "deletion"


OPERATIONS = ("delete", "correct")
HANDLED_EVENTS = frozenset({"RequestSubmitted", "DiscoveryCompleted"})


def acts_on(payload: Mapping[str, Any]) -> bool:
    return payload["request_type"] in OPERATIONS and needs_discovery(payload)


class DeletionHandlers:
    def handle(self, event: Event, conn: sa.Connection, _delivery: Delivery) -> None:
        if not event.request_id:
            return
        payload = event.payload
        if event.event_type == "RequestSubmitted" and acts_on(payload):
            corrections = payload.get("corrections")
            values = {"received_at": payload["received_at"], "stage": "discovering",
                      "operation": payload["request_type"]}  # fmt: skip
            if corrections:
                values["corrections_sealed"] = Sealed.from_record(corrections).to_json()
            self._upsert(conn, event, values)
        elif event.event_type == "DiscoveryCompleted" and payload["request_type"] in OPERATIONS:
            sealed = event.payload.get("identifiers")
            if sealed is None:
                return
            self._upsert(conn, event, {"identifiers_sealed": Sealed.from_record(sealed).to_json(), "stage": "erasing",
                                       "next_attempt_at": utcnow(), "operation": payload["request_type"]})  # fmt: skip

    def _upsert(self, conn: sa.Connection, event: Event, values: dict[str, Any]) -> None:
        row = {"request_id": event.request_id, "subject_key": event.subject_key, "operation": "delete",
               "received_at": event.occurred_at, "stage": "discovering", "attempts": 0, "verifications": 0,
               "next_attempt_at": utcnow(), **values}  # fmt: skip
        insert = insert_for(conn, orm.jobs).values(**row)
        # Only discovery's inventory moves a job forward; a late RequestSubmitted never sets it back.
        changed: dict[str, Any] = {key: insert.excluded[key] for key in values if key not in ("received_at", "stage")}
        if values.get("stage") == "erasing":
            changed["stage"] = sa.case((orm.jobs.c.stage == "discovering", "erasing"), else_=orm.jobs.c.stage)
        if "received_at" in values:
            changed["received_at"] = insert.excluded.received_at
        conn.execute(insert.on_conflict_do_update(index_elements=["request_id"], set_=changed) if changed
                     else insert.on_conflict_do_nothing(index_elements=["request_id"]))  # fmt: skip
