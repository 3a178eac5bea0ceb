"""Every event the discovery worker puts on the timeline, built in one place: each store's outcome, the completed
walk, and for know requests the report and the answer. Event times strictly increase within a walk (`Ticker`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.common.events import Event, utcnow
from services.discovery.handlers import PRODUCER
from services.discovery.inventory import StoreOutcome
from services.discovery.reporting import ReadyReport
from services.discovery.runs import Run


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

    def store_searched(self, outcome: StoreOutcome, attempt: int, retry_at: datetime | None) -> Event:
        return self._event("StoreSearched", self.tick(), {
            "store": outcome.store, "store_kind": outcome.store_kind, "outcome": outcome.outcome,
            "attempt": attempt, "records": outcome.records, "collections": list(outcome.collections),
            "categories": list(outcome.categories), "reason": outcome.reason,
            "retry_at": retry_at if outcome.outcome == "unavailable" else None,
        })  # fmt: skip

    def discovery_completed(self, attempt: int, records: int, inventory: Sequence[Mapping[str, Any]],
                            identifiers: Mapping[str, Any]) -> Event:  # fmt: skip
        categories = sorted({label for entry in inventory for label in entry["categories"]})
        return self._event("DiscoveryCompleted", self.tick(), {
            "request_type": self.run.request_type, "attempts": attempt, "records": records,
            "categories": categories, "inventory": list(inventory), "identifiers": identifiers,
        })  # fmt: skip

    def report_ready(self, ready: ReadyReport) -> Event:
        return self._event("ReportReady", ready.ready_at, ready.payload())

    def request_completed(self, summary: str) -> Event:
        return self._event("RequestCompleted", self.tick(), {"outcome": "complied", "summary": summary})

    def _event(self, event_type: str, at: datetime, payload: dict[str, Any]) -> Event:
        run = self.run
        return Event(event_type, run.subject_key, PRODUCER, request_id=run.request_id, occurred_at=at, payload=payload)
