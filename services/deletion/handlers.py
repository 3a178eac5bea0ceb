"""Deletion use cases on the event streams: a delete or correct request intake accepted opens a job; discovery's
inventory for it (every identifier the walk reached, sealed) makes the job ready to erase or correct."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.common.acting import acts_on
from services.common.consumer import Delivery, Routes, about_request, dispatch
from services.common.crypto import Sealed
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.payloads.discovery import DiscoveryCompletedPayload
from services.common.payloads.requests import RequestSubmittedPayload
from services.common.request_types import ActingService
from services.common.topics import DISCOVERY_RESULTS, REQUESTS
from services.deletion import orm

PRODUCER = "deletion"
SUBSCRIBED = (REQUESTS, DISCOVERY_RESULTS)  # the topics of the event types its routing table names


OPERATIONS = ("delete", "correct")


class DeletionHandlers:
    def __init__(self) -> None:
        # The event types deletion acts on (their contracts are checked first), and what it does with each.
        self.routes: Routes = {
            EventType.REQUEST_SUBMITTED: about_request(self.on_submitted),
            EventType.DISCOVERY_COMPLETED: about_request(self.on_discovery_completed),
        }

    def handle(self, event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        dispatch(self.routes, event, conn, delivery)

    def on_submitted(self, event: Event[RequestSubmittedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        """A delete or correct request intake names deletion on opens a job, waiting for discovery's inventory."""
        payload = event.payload
        if not acts_on(ActingService.DELETION, payload):
            return
        values = {
            "received_at": payload.received_at,
            "stage": "discovering",
            "operation": payload.request_type,
            "subject_type": payload.subject_type,
        }
        if payload.corrections:
            values["corrections_sealed"] = Sealed.from_record(payload.corrections).to_json()
        self._upsert(conn, event, values)

    def on_discovery_completed(
        self, event: Event[DiscoveryCompletedPayload], conn: sa.Connection, _delivery: Delivery
    ) -> None:
        payload = event.payload
        if payload.request_type not in OPERATIONS or payload.identifiers is None:
            return
        self._upsert(conn, event, {"identifiers_sealed": Sealed.from_record(payload.identifiers).to_json(),
                                   "stage": "erasing", "next_attempt_at": utcnow(),
                                   "operation": payload.request_type,
                                   "subject_type": payload.subject_type})  # fmt: skip

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
