"""The discovery worker: claims due runs, walks every store, records each store's outcome, and completes a run
only when every store answered. An unavailable store is retried with backoff; nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.datamap import DataMap
from services.common.events import Event, utcnow
from services.common.leases import RELEASED, LeaseLost, Leases
from services.common.metrics import DISCOVERY_RUNS, STORE_SEARCHES, WALK_SECONDS
from services.common.outbox import Outbox
from services.common.stores.base import FoundRecord, StoreConnector
from services.common.stores.walk import WalkResult, walk
from services.common.topics import DISCOVERY_RESULTS, TopicNames
from services.discovery import orm
from services.discovery.handlers import PRODUCER
from services.discovery.inventory import StoreOutcome, found_outcome, inventory, unavailable_outcome
from services.discovery.reporting import ReportPublisher
from services.discovery.settings import DiscoverySettings

log = logging.getLogger(__name__)
KNOW_TYPES = frozenset({"know_categories", "know_specific"})


class Ticker:
    """Event times that strictly increase, so one walk's events sort causally on the timeline."""

    def __init__(self) -> None:
        self.last = utcnow()

    def __call__(self) -> datetime:
        self.last = max(utcnow(), self.last + timedelta(microseconds=1))
        return self.last


class DiscoveryWorker:
    def __init__(self, engine: sa.Engine, outbox: Outbox, topics: TopicNames, sealer: Sealer, datamap: DataMap,
                 connectors: Mapping[str, StoreConnector], reports: ReportPublisher, settings: DiscoverySettings,
                 relay_wakeup: threading.Event | None = None) -> None:  # fmt: skip
        self.engine = engine
        self.outbox = outbox
        self.topic = topics(DISCOVERY_RESULTS)
        self.sealer = sealer
        self.datamap = datamap
        self.connectors = connectors
        self.reports = reports
        self.settings = settings
        self.relay_wakeup = relay_wakeup or threading.Event()
        self.wakeup = threading.Event()
        self.last_loop_at = datetime.now(UTC)
        self.pool = ThreadPoolExecutor(settings.concurrent_requests, thread_name_prefix="discovery-walk")
        self.leases = Leases(engine, orm.runs, "request_id", settings.lease_seconds)

    def run(self, stop: threading.Event) -> None:
        with self.leases.heartbeat():
            try:
                while not stop.is_set():
                    self.last_loop_at = datetime.now(UTC)
                    claimed = self.claim_due(self.settings.concurrent_requests)
                    if claimed:
                        list(self.pool.map(self.process_safely, claimed))
                        continue
                    self.reports.purge_expired()
                    self.wakeup.wait(self.settings.poll_seconds)
                    self.wakeup.clear()
            finally:
                self.pool.shutdown(wait=True)

    def claim_due(self, limit: int) -> list[sa.Row[Any]]:
        now, runs = utcnow(), orm.runs
        due = sa.and_(runs.c.status == "pending", runs.c.next_attempt_at <= now, self.leases.free(now))
        return self.leases.claim(sa.select(runs).where(due).order_by(runs.c.next_attempt_at).limit(limit), due, now)

    def process_safely(self, run: sa.Row[Any]) -> None:
        # The heartbeat moves with every walk, not only between batches: a batch of slow walks is not a dead loop.
        self.last_loop_at = datetime.now(UTC)
        try:
            self.process(run)
        except LeaseLost:
            log.warning("lease lost mid-walk; another process has the run", extra={"request_id": run.request_id})
        except Exception:
            log.exception("discovery run failed; it will be retried", extra={"request_id": run.request_id})
            self._reschedule_only(run)
        finally:
            self.leases.release(run.request_id)
            self.last_loop_at = datetime.now(UTC)

    def process(self, run: sa.Row[Any]) -> None:
        try:
            identifiers = self.sealer.open(Sealed.from_json(run.identifiers_sealed), run.subject_key, run.request_id)
        except KeyShredded:
            log.warning("identifiers shredded before discovery; run abandoned", extra={"request_id": run.request_id})
            self._finish(run, "abandoned")
            return
        seeds = {kind: frozenset([value]) for kind, value in identifiers.items()}
        with WALK_SECONDS.time():
            result = walk(self.datamap, self.connectors, seeds)
        self.record(run, result)
        DISCOVERY_RUNS.labels("complete" if not result.failures else "retry").inc()

    def record(self, run: sa.Row[Any], result: WalkResult) -> None:
        attempt = run.attempts + 1
        outcomes = list(self._outcomes(result))
        complete = not result.failures
        records = [record for store_records in result.records.values() for record in store_records]
        tick = Ticker()
        rendered = self.reports.render(run, records, outcomes) if complete and run.request_type in KNOW_TYPES else None
        with self.engine.begin() as conn:
            events = self._store_events(conn, run, outcomes, attempt, tick)
            if complete:
                self._mark(conn, run, attempt, status="complete")
                events += self._completion_events(conn, run, attempt, result, records, rendered, tick)
            else:
                self._mark(conn, run, attempt, status="pending", retry_at=self._retry_at(attempt))
            self.outbox.add(conn, self.topic, events)
        self.relay_wakeup.set()

    def _outcomes(self, result: WalkResult) -> Iterator[StoreOutcome]:
        for store in self.datamap.stores:
            if store.name in result.failures:
                outcome = unavailable_outcome(store, result.failures[store.name])
            else:
                outcome = found_outcome(self.datamap, store, result.records.get(store.name, []))
            STORE_SEARCHES.labels(store.name, outcome.outcome).inc()
            yield outcome

    def _store_events(self, conn: sa.Connection, run: sa.Row[Any], outcomes: Sequence[StoreOutcome], attempt: int,
                      tick: Ticker) -> list[Event]:  # fmt: skip
        table = orm.store_outcomes
        query = sa.select(table).where(table.c.request_id == run.request_id)
        previous = {row.store: row for row in conn.execute(query)}
        retry_at = self._retry_at(attempt) if any(o.outcome == "unavailable" for o in outcomes) else None
        events = []
        for outcome in outcomes:
            before = previous.get(outcome.store)
            unchanged = before is not None and (before.outcome, before.records) == (outcome.outcome, outcome.records)
            if unchanged and outcome.outcome != "unavailable":
                continue
            row = {"outcome": outcome.outcome, "records": outcome.records, "attempt": attempt,
                   "reason": outcome.reason, "updated_at": utcnow()}  # fmt: skip
            if before is None:
                conn.execute(sa.insert(table).values(request_id=run.request_id, store=outcome.store, **row))
            else:
                conn.execute(sa.update(table).where(table.c.request_id == run.request_id,
                                                    table.c.store == outcome.store).values(**row))  # fmt: skip
            events.append(self._event(run, "StoreSearched", tick(), {
                "store": outcome.store, "store_kind": outcome.store_kind, "outcome": outcome.outcome,
                "attempt": attempt, "records": outcome.records, "collections": list(outcome.collections),
                "categories": list(outcome.categories), "reason": outcome.reason,
                "retry_at": retry_at if outcome.outcome == "unavailable" else None,
            }))  # fmt: skip
        return events

    def _completion_events(self, conn: sa.Connection, run: sa.Row[Any], attempt: int, result: WalkResult,
                           records: list[FoundRecord], rendered: Any, tick: Ticker) -> list[Event]:  # fmt: skip
        found = {kind: sorted(values) for kind, values in result.identifiers.items()}
        sealed = self.sealer.seal(found, run.subject_key, run.request_id)
        entries = inventory(self.datamap, records)
        categories = sorted({label for entry in entries for label in entry["categories"]})  # type: ignore[attr-defined]
        events = [self._event(run, "DiscoveryCompleted", tick(), {
            "request_type": run.request_type, "attempts": attempt, "records": len(records),
            "categories": categories, "inventory": entries, "identifiers": sealed.to_record(),
        })]  # fmt: skip
        if rendered is not None:
            ready = self.reports.store(conn, run, rendered, tick())
            events.append(self._event(run, "ReportReady", ready.ready_at, ready.payload()))
            events.append(self._event(run, "RequestCompleted", tick(), {
                "outcome": "complied", "summary": ready.summary(len(self.datamap.stores)),
            }))  # fmt: skip
        return events

    def _mark(self, conn: sa.Connection, run: sa.Row[Any], attempt: int, status: str,
              retry_at: datetime | None = None) -> None:  # fmt: skip
        """Commit the run's new status, only while this process holds its lease: LeaseLost otherwise, which rolls
        back the walk's transaction (the process that took the run over walks it again)."""
        values: dict[str, Any] = {"attempts": attempt, "status": status, **RELEASED}
        if status == "complete":
            values["completed_at"] = utcnow()
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        runs = orm.runs
        updated = conn.execute(sa.update(runs).where(self.leases.owned(run.request_id), runs.c.status == "pending")
                               .values(**values))  # fmt: skip
        if updated.rowcount != 1:
            raise LeaseLost("the run's lease lapsed and another process claimed it")

    def _retry_at(self, attempt: int) -> datetime:
        delay = min(self.settings.retry_max_seconds, self.settings.retry_initial_seconds * 2 ** (attempt - 1))
        return utcnow() + timedelta(seconds=delay)

    def _reschedule_only(self, run: sa.Row[Any]) -> None:
        try:
            with self.engine.begin() as conn:
                self._mark(conn, run, run.attempts + 1, status="pending", retry_at=self._retry_at(run.attempts + 1))
        except LeaseLost:
            log.warning("lease lost before rescheduling; another process has the run",
                        extra={"request_id": run.request_id})  # fmt: skip

    def _finish(self, run: sa.Row[Any], status: str) -> None:
        with self.engine.begin() as conn:
            self._mark(conn, run, run.attempts + 1, status=status)

    def _event(self, run: sa.Row[Any], event_type: str, at: datetime, payload: dict[str, Any]) -> Event:
        return Event(event_type, run.subject_key, PRODUCER, request_id=run.request_id, occurred_at=at, payload=payload)
