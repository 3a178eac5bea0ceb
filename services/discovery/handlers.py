"""Discovery use cases on the request stream: a verified know, delete or correct request opens a discovery run;
a completed deletion (on the deletion results) destroys the subject's access reports.

The walk itself happens in the worker (it may wait for a store to come back); this handler only makes the run
durable and announces it, in the consumer's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.consumer import Delivery
from services.common.crypto import Sealed
from services.common.datamap import DataMap
from services.common.db import insert_for
from services.common.events import Event, strictly_after
from services.common.outbox import Outbox
from services.common.request_types import RequestType
from services.common.topics import DISCOVERY_RESULTS, TopicNames
from services.discovery import orm
from services.discovery.destruction import ReportDestruction, destroys_reports

PRODUCER = "discovery"
DISCOVERED_TYPES = frozenset(
    {RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC, RequestType.DELETE, RequestType.CORRECT}
)
ACCEPTED_VERIFICATION = frozenset({"verified", "not_required"})
# Their content is checked before they are handled (services/common/contracts.py).
HANDLED_EVENTS = frozenset({"RequestSubmitted", "DeletionCompleted"})


def needs_discovery(payload: Mapping[str, Any]) -> bool:
    """Verified know/delete/correct requests, and unverified know-specific answered as categories (§7024(a))."""
    if payload["request_type"] not in DISCOVERED_TYPES:
        return False
    if payload["authorized_agent"] and not payload["agent_permission_verified"]:
        return False
    if payload["verification_outcome"] in ACCEPTED_VERIFICATION:
        return True
    downgraded = payload["requested_type"] == RequestType.KNOW_SPECIFIC and payload["request_type"] == (
        RequestType.KNOW_CATEGORIES
    )
    return bool(downgraded)


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

    def handle(self, event: Event, conn: sa.Connection, _delivery: Delivery) -> None:
        if event.event_type == "RequestSubmitted" and event.request_id and needs_discovery(event.payload):
            self.open_run(event, conn)
        elif destroys_reports(event):
            self.outbox.add(conn, self.topics(DISCOVERY_RESULTS), self.destruction.destroy(conn, event))

    def open_run(self, event: Event, conn: sa.Connection) -> None:
        payload = event.payload
        started = strictly_after(event.occurred_at)
        row = {
            "request_id": event.request_id,
            "subject_key": event.subject_key,
            "request_type": payload["request_type"],
            "identifiers_sealed": Sealed.from_record(payload["identifiers"]).to_json(),
            "date_range_start": payload.get("date_range_start"),
            "date_range_end": payload.get("date_range_end"),
            "received_at": payload["received_at"],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": started,
            "started_at": started,
        }
        if not _insert_once(conn, row):
            return  # the same request delivered again under another event id: the run exists
        self.outbox.add(conn, self.topics(DISCOVERY_RESULTS), [self.started_event(event, started)])

    def started_event(self, event: Event, at: datetime) -> Event:
        payload = event.payload
        return Event(
            "DiscoveryStarted",
            event.subject_key,
            PRODUCER,
            request_id=event.request_id,
            occurred_at=at,
            payload={
                "request_type": payload["request_type"],
                "stores": searched_stores(self.datamap),
                "not_searched": not_searched(self.datamap),
                "date_range_start": payload.get("date_range_start"),
                "date_range_end": payload.get("date_range_end"),
            },
        )


def _insert_once(conn: sa.Connection, row: dict[str, Any]) -> bool:
    insert = insert_for(conn, orm.runs).values(**row)
    statement = insert.on_conflict_do_nothing(index_elements=["request_id"]).returning(orm.runs.c.request_id)
    return conn.execute(statement).first() is not None
