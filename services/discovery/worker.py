"""The discovery worker: claims due runs, walks every store, records each store's outcome, and completes a run
only when every store answered. An unavailable store is retried with backoff; nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa

from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.datamap import DataMap
from services.common.datamap.subjects import for_subject_type
from services.common.events import Event, utcnow
from services.common.leases import LeaseLost
from services.common.metrics import DISCOVERY_RUNS, REPORT_LATENCY, STORE_SEARCHES, WALK_SECONDS
from services.common.outbox import Outbox
from services.common.stores.base import FoundRecord, StoreConnector
from services.common.stores.scope import scoped_connectors
from services.common.stores.walk import WalkResult, walk
from services.common.topics import DISCOVERY_RESULTS, TopicNames
from services.discovery.events import DiscoveryEvents
from services.discovery.inventory import StoreOutcome, found_outcome, inventory, unavailable_outcome
from services.discovery.reporting import RenderedReport, ReportPublisher
from services.discovery.runs import Run, RunStore
from services.discovery.settings import DiscoverySettings

log = logging.getLogger(__name__)
KNOW_TYPES = frozenset({"know_categories", "know_specific"})


class DiscoveryWorker:
    """Claims due runs from the run store and walks them concurrently; each walk commits with its events."""

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
        self.runs = RunStore(engine, settings)

    def run(self, stop: threading.Event) -> None:
        """Keep up to `concurrent_requests` walks in flight: a slot freed by a finished walk is claimed again at once,
        so one slow walk (a store retried, a large subject) never holds back the runs queued behind its batch."""
        in_flight: set[Future[None]] = set()
        with self.runs.leases.heartbeat():
            try:
                while not stop.is_set():
                    self.last_loop_at = datetime.now(UTC)
                    in_flight = {future for future in in_flight if not future.done()}
                    free = self.settings.concurrent_requests - len(in_flight)
                    claimed = self.runs.claim(free) if free > 0 else []
                    for run in claimed:
                        future = self.pool.submit(self.process_safely, run)
                        future.add_done_callback(lambda _done: self.wakeup.set())
                        in_flight.add(future)
                    if claimed:
                        continue
                    if not in_flight:
                        self.reports.purge_expired()
                    self.wakeup.wait(self.settings.poll_seconds)
                    self.wakeup.clear()
            finally:
                self.pool.shutdown(wait=True)

    def process_safely(self, run: Run) -> None:
        # The heartbeat moves with every walk, not only between batches: a batch of slow walks is not a dead loop.
        self.last_loop_at = datetime.now(UTC)
        try:
            self.process(run)
        except LeaseLost:
            log.warning("lease lost mid-walk; another process has the run", extra={"request_id": run.request_id})
        except Exception:
            log.exception("discovery run failed; it will be retried", extra={"request_id": run.request_id})
            self._reschedule(run)
        finally:
            self.runs.leases.release(run.request_id)
            self.last_loop_at = datetime.now(UTC)

    def process(self, run: Run) -> None:
        sealer = self.sealer.scoped()  # the key that opens the identifiers seals what the walk found and the report
        try:
            identifiers = sealer.open(Sealed.from_json(run.identifiers_sealed), run.subject_key, run.request_id)
        except KeyShredded:
            log.warning("identifiers shredded before discovery; run abandoned", extra={"request_id": run.request_id})
            self.runs.finish(run, "abandoned")
            return
        seeds = {kind: frozenset([value]) for kind, value in identifiers.items()}
        walked = for_subject_type(self.datamap, run.subject_type)
        with WALK_SECONDS.time():
            result = walk(walked, scoped_connectors(self.connectors, walked), seeds)
        self.record(run, result, walked, sealer)
        DISCOVERY_RUNS.labels("complete" if not result.failures else "retry").inc()

    def record(self, run: Run, result: WalkResult, walked: DataMap, sealer: Sealer | None = None) -> None:
        """`walked`: the data map narrowed to the run's subject type, the part the walk covered."""
        sealer = sealer or self.sealer
        attempt = run.attempts + 1
        outcomes = list(self._outcomes(result, walked))
        complete = not result.failures
        records = [record for store_records in result.records.values() for record in store_records]
        build = DiscoveryEvents(run)
        rendered = self.reports.render(run, records, outcomes) if complete and run.request_type in KNOW_TYPES else None
        with self.engine.begin() as conn:
            retry_at = self.runs.retry_at(attempt) if any(o.outcome == "unavailable" for o in outcomes) else None
            events: list[Event] = [build.store_searched(outcome, attempt, retry_at)
                      for outcome in self.runs.record_outcomes(conn, run, outcomes, attempt)]  # fmt: skip
            if complete:
                self.runs.mark(conn, run, attempt, status="complete")
                events += self._completion_events(conn, build, attempt, result, records, rendered, walked, sealer)
            else:
                self.runs.mark(conn, run, attempt, status="pending", retry_at=self.runs.retry_at(attempt))
            self.outbox.add(conn, self.topic, events)
        if rendered is not None:  # observed once committed: a lost lease rolls the report back
            REPORT_LATENCY.labels(run.request_type).observe((utcnow() - run.received_at).total_seconds())
        self.relay_wakeup.set()

    def _outcomes(self, result: WalkResult, walked: DataMap) -> Iterator[StoreOutcome]:
        for store in walked.stores:
            if store.name in result.failures:
                outcome = unavailable_outcome(store, result.failures[store.name])
            else:
                outcome = found_outcome(walked, store, result.records.get(store.name, []))
            STORE_SEARCHES.labels(store.name, outcome.outcome).inc()
            yield outcome

    def _completion_events(self, conn: sa.Connection, build: DiscoveryEvents, attempt: int, result: WalkResult,
                           records: list[FoundRecord], rendered: RenderedReport | None, walked: DataMap,
                           sealer: Sealer) -> list[Event]:  # fmt: skip
        run = build.run
        found = {kind: sorted(values) for kind, values in result.identifiers.items()}
        sealed = sealer.seal(found, run.subject_key, run.request_id)
        entries = inventory(walked, records)
        events: list[Event] = [build.discovery_completed(attempt, len(records), entries, sealed.to_value())]
        if rendered is not None:
            ready = self.reports.store(conn, run, rendered, build.tick(), sealer)
            events.append(build.report_ready(ready))
            events.append(build.request_completed(ready.summary(len(walked.stores))))
        return events

    def _reschedule(self, run: Run) -> None:
        try:
            self.runs.reschedule(run)
        except LeaseLost:
            log.warning("lease lost before rescheduling; another process has the run",
                        extra={"request_id": run.request_id})  # fmt: skip
