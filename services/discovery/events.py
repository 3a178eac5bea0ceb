"""Every event the discovery worker puts on the timeline, built in one place: each store's outcome, the completed
walk, and for know requests the report and the answer. Event times strictly increase within a walk (`Ticker`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.payloads.discovery import (
    DiscoveryCompletedPayload,
    InventoryEntry,
    ReportReadyPayload,
    StoreSearchedPayload,
)
from services.common.payloads.requests import RequestCompletedPayload
from services.common.payloads.shared import EncryptedValue
from services.common.records import Record
from services.discovery.handlers import PRODUCER
from services.discovery.inventory import StoreOutcome
from services.discovery.reporting import ReadyReport
from services.discovery.runs import Run

P = TypeVar("P", bound=Record)


class Ticker:
    """Event times that strictly increase, so one walk's events sort causally on the timeline."""

    def __init__(self) -> None:
        self.last = utcnow()

    def __call__(self) -> datetime:
        self.last = max(utcnow(), self.last + timedelta(microseconds=1))
        return self.last


class DiscoveryEvents:
    """Builds one walk's events from its run and what it found, each at the walk's next tick."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.tick = Ticker()

    def store_searched(self, outcome: StoreOutcome, attempt: int,
                       retry_at: datetime | None) -> Event[StoreSearchedPayload]:  # fmt: skip
        return self._event(EventType.STORE_SEARCHED, self.tick(), StoreSearchedPayload(
            store=outcome.store, store_kind=outcome.store_kind, outcome=outcome.outcome, attempt=attempt,
            records=outcome.records, collections=outcome.collections, categories=outcome.categories,
            reason=outcome.reason, retry_at=retry_at if outcome.outcome == "unavailable" else None,
        ))  # fmt: skip

    def discovery_completed(self, attempt: int, records: int, inventory: Sequence[InventoryEntry],
                            identifiers: EncryptedValue) -> Event[DiscoveryCompletedPayload]:  # fmt: skip
        categories = tuple(sorted({label for entry in inventory for label in entry.categories}))
        return self._event(EventType.DISCOVERY_COMPLETED, self.tick(), DiscoveryCompletedPayload(
            request_type=self.run.request_type, attempts=attempt, records=records, categories=categories,
            inventory=tuple(inventory), identifiers=identifiers, subject_type=self.run.subject_type,
        ))  # fmt: skip

    def report_ready(self, ready: ReadyReport) -> Event[ReportReadyPayload]:
        return self._event(EventType.REPORT_READY, ready.ready_at, ready.payload())

    def request_completed(self, summary: str) -> Event[RequestCompletedPayload]:
        payload = RequestCompletedPayload(outcome="complied", summary=summary)
        return self._event(EventType.REQUEST_COMPLETED, self.tick(), payload)

    def _event(self, event_type: EventType, at: datetime, payload: P) -> Event[P]:
        run = self.run
        return Event(event_type, run.subject_key, PRODUCER, payload, request_id=run.request_id, occurred_at=at)
