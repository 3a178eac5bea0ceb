"""Discovery use cases on the request stream: a know, delete or correct request intake accepted opens a discovery run;
a completed deletion (on the deletion results) destroys the subject's access reports.

The walk itself happens in the worker (it may wait for a store to come back); this handler only makes the run
durable and announces it, in the consumer's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.acting import acts_on
from services.common.consumer import Delivery, Routes, dispatch
from services.common.crypto import Sealed
from services.common.datamap import DataMap
from services.common.datamap.subjects import for_subject_type
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import Event, strictly_after
from services.common.outbox import Outbox
from services.common.payloads.deletion import DeletionCompletedPayload
from services.common.payloads.discovery import DiscoveryStartedPayload
from services.common.payloads.requests import RequestSubmittedPayload
from services.common.request_types import ActingService
from services.common.topics import DELETION_RESULTS, DISCOVERY_RESULTS, REQUESTS, TopicNames
from services.discovery import orm
from services.discovery.destruction import ReportDestruction, destroys_reports

PRODUCER = "discovery"
SUBSCRIBED = (REQUESTS, DELETION_RESULTS)  # the topics of the event types its routing table names


def searched_stores(datamap: DataMap) -> list[str]:
    return [store.name for store in datamap.stores]


def not_searched(datamap: DataMap) -> list[str]:
    return [f"{store.name}.{collection.name}" for store in datamap.stores for collection in store.collections
            if collection.not_searched_reason]  # fmt: skip


class DiscoveryHandlers:
    def __init__(self, outbox: Outbox, topics: TopicNames, datamap: DataMap) -> None:
        self.outbox = outbox
        self.topics = topics
        self.datamap = datamap
        self.destruction = ReportDestruction()
        # The event types discovery acts on (their contracts are checked first), and what it does with each.
        self.routes: Routes = {
            EventType.REQUEST_SUBMITTED: self.on_submitted,
            EventType.DELETION_COMPLETED: self.on_deletion_completed,
        }

    def handle(self, event: Event, conn: sa.Connection, delivery: Delivery) -> None:
        dispatch(self.routes, event, conn, delivery)

    def on_submitted(self, event: Event[RequestSubmittedPayload], conn: sa.Connection, _delivery: Delivery) -> None:
        """A request intake names discovery on (know, delete, correct, once accepted) opens a discovery run."""
        if event.request_id and acts_on(ActingService.DISCOVERY, event.payload):
            self.open_run(event, conn)

    def on_deletion_completed(
        self, event: Event[DeletionCompletedPayload], conn: sa.Connection, _delivery: Delivery
    ) -> None:
        if destroys_reports(event):
            self.outbox.add(conn, self.topics(DISCOVERY_RESULTS), self.destruction.destroy(conn, event))

    def open_run(self, event: Event[RequestSubmittedPayload], conn: sa.Connection) -> None:
        payload = event.payload
        started = strictly_after(event.occurred_at)
        row = {
            "request_id": event.request_id,
            "subject_key": event.subject_key,
            "request_type": payload.request_type,
            "subject_type": payload.subject_type,
            "identifiers_sealed": Sealed.from_record(payload.identifiers).to_json(),
            "date_range_start": payload.date_range_start,
            "date_range_end": payload.date_range_end,
            "received_at": payload.received_at,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": started,
            "started_at": started,
        }
        if not _insert_once(conn, row):
            return  # the same request delivered again under another event id: the run exists
        self.outbox.add(conn, self.topics(DISCOVERY_RESULTS), [self.started_event(event, started)])

    def started_event(self, event: Event[RequestSubmittedPayload], at: datetime) -> Event[DiscoveryStartedPayload]:
        payload = event.payload
        walked = for_subject_type(self.datamap, payload.subject_type)
        return Event(
            EventType.DISCOVERY_STARTED,
            event.subject_key,
            PRODUCER,
            request_id=event.request_id,
            occurred_at=at,
            payload=DiscoveryStartedPayload(
                request_type=payload.request_type,
                stores=tuple(searched_stores(walked)),
                not_searched=tuple(not_searched(walked)),
                date_range_start=payload.date_range_start,
                date_range_end=payload.date_range_end,
            ),
        )


def _insert_once(conn: sa.Connection, row: dict[str, Any]) -> bool:
    insert = insert_for(conn, orm.runs).values(**row)
    statement = insert.on_conflict_do_nothing(index_elements=["request_id"]).returning(orm.runs.c.request_id)
    return conn.execute(statement).first() is not None
