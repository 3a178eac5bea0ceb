"""The deletion worker: erase in every store per the data map, record the suppression entries, instruct the
recipients, verify by a fresh walk, and answer. Each stage commits with its events; a failed store is retried."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from services.common import faults
from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.datamap import DataMap
from services.common.db import insert_for
from services.common.events import Event, utcnow
from services.common.leases import RELEASED, LeaseLost, Leases
from services.common.metrics import ERASURE_BATCH
from services.common.outbox import Outbox
from services.common.stores.base import StoreConnector
from services.common.stores.walk import walk
from services.common.topics import DELETION_RESULTS, TopicNames
from services.deletion import orm
from services.deletion.corrections import (
    Corrected,
    CorrectionExecutor,
    KeptCorrections,
    provider_corrections,
    unknown_keys,
)
from services.deletion.erasure import (
    ErasureEngine,
    ErasureJournal,
    ErasureOutcome,
    Ledger,
    LegalHold,
    LegalHolds,
    StoreOutcome,
    plan_erasure,
)
from services.deletion.handlers import PRODUCER
from services.deletion.notices import ProviderNotices
from services.deletion.settings import DeletionSettings
from services.deletion.verification import correction_summary, response_summary, store_records, verify

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Ports:
    """The adapters a deletion needs, wired by bootstrap."""

    engine: sa.Engine
    outbox: Outbox
    sealer: Sealer
    erasure: ErasureEngine
    journal: ErasureJournal
    ledger: Ledger
    holds: LegalHolds
    notices: ProviderNotices
    verifiers: Mapping[str, StoreConnector]  # the erased stores, searched again
    corrections: CorrectionExecutor
    kept: KeptCorrections


class DeletionWorker:
    def __init__(self, ports: Ports, datamap: DataMap, topics: TopicNames, settings: DeletionSettings,
                 relay_wakeup: threading.Event) -> None:  # fmt: skip
        self.ports = ports
        self.datamap = datamap
        self.topic = topics(DELETION_RESULTS)
        self.settings = settings
        self.relay_wakeup = relay_wakeup
        self.wakeup = threading.Event()
        self.last_loop_at = datetime.now(UTC)
        self.next_recheck = 0.0
        self.pool = ThreadPoolExecutor(settings.concurrent_steps, thread_name_prefix="deletion-step")
        self.leases = Leases(ports.engine, orm.jobs, "request_id", settings.lease_seconds)

    def run(self, stop: threading.Event) -> None:
        with self.leases.heartbeat():
            try:
                while not stop.is_set():
                    self.last_loop_at = datetime.now(UTC)
                    jobs = self.claim_due(self.settings.claim_batch)
                    self.step_all(jobs)
                    self.report_overdue()
                    if time.monotonic() >= self.next_recheck:
                        self.next_recheck = time.monotonic() + self.settings.recheck_corrections_seconds
                        self.recheck_corrections()
                    if not jobs:
                        self.wakeup.wait(self.settings.poll_seconds)
                        self.wakeup.clear()
            finally:
                self.pool.shutdown(wait=True)

    def step_all(self, jobs: list[sa.Row[Any]]) -> None:
        """Deletions due for erasure are erased together (a log store is rewritten once for all of them); every
        other step runs concurrently, beside that batch, so the verification walks of many requests share their
        log passes."""
        erasing = [job for job in jobs if job.stage == "erasing" and job.operation == "delete"]
        others = [self.pool.submit(self.step_safely, job) for job in jobs if job not in erasing]
        try:
            if erasing:
                self.erase_batch(erasing)  # meanwhile the pool verifies and answers the others
        finally:
            self.leases.release(*(job.request_id for job in erasing))
        for step in others:
            step.result()

    def claim_due(self, limit: int = 8) -> list[sa.Row[Any]]:
        return claim_jobs(self.leases, limit, self.settings.erasure_linger_seconds)

    def step_safely(self, job: sa.Row[Any]) -> None:
        self.last_loop_at = datetime.now(UTC)
        try:
            {"erasing": self.erase, "verifying": self.verify, "answering": self.answer}[job.stage](job)
        except Exception as exc:
            self._failed(job, exc)
        finally:
            self.leases.release(job.request_id)
            self.relay_wakeup.set()

    def _failed(self, job: sa.Row[Any], exc: Exception) -> None:
        """Log and reschedule (abandon, if its identifiers were shredded); never raises, so one job's failure
        cannot stop the worker. If even rescheduling fails, the job's lease lapses and it is claimed again; if the
        lease was lost, the job is another process's now and nothing is written."""
        try:
            if isinstance(exc, LeaseLost):
                log.warning("lease lost mid-step; another process has the job", extra={"request_id": job.request_id})
                return
            if isinstance(exc, KeyShredded):
                log.warning("identifiers shredded before erasure; job abandoned", extra={"request_id": job.request_id})
                self._move(job, "abandoned")
                return
            log.error("deletion step failed; it will be retried", exc_info=exc, extra={"request_id": job.request_id})
            self._move(job, job.stage, retry=True)
        except LeaseLost:
            log.warning("lease lost before rescheduling; another process has the job",
                        extra={"request_id": job.request_id})  # fmt: skip
        except Exception:
            log.exception("could not reschedule a failed step", extra={"request_id": job.request_id})

    def identifiers(self, job: sa.Row[Any]) -> dict[str, frozenset[str]]:
        opened = self.ports.sealer.open(Sealed.from_json(job.identifiers_sealed), job.subject_key, job.request_id)
        return {kind: frozenset(values) for kind, values in opened.items() if values}

    def erase(self, job: sa.Row[Any]) -> None:
        if job.operation == "correct" and job.corrections_sealed is None:
            # Discovery's result and the request come on two topics with no order between them: after a restart the
            # DiscoveryCompleted can be applied first. The correction waits for its request (not a failure).
            log.info("correction waits for its request's corrections", extra={"request_id": job.request_id})
            self._move(job, "erasing", retry_in=1.0)
            return
        if job.operation == "correct":
            self.correct(job)
            return
        self.erase_batch([job])

    def erase_batch(self, jobs: list[sa.Row[Any]]) -> None:
        """Plan each deletion, erase them all store by store, then settle each in its own transaction."""
        planned = []
        for job in jobs:
            self.last_loop_at = datetime.now(UTC)
            try:
                identifiers = self.identifiers(job)
                holds = self.ports.holds.for_subject(job.subject_key)
                plan = plan_erasure(self.datamap, identifiers, subject_key=job.subject_key, holds=holds)
                planned.append((job, identifiers, holds, plan))
            except Exception as exc:
                self._failed(job, exc)
        ERASURE_BATCH.observe(len(planned))
        try:
            outcomes = self.ports.erasure.erase_many([(plan, self._journal_key(job.request_id, job.verifications))
                                                      for job, _, _, plan in planned])  # fmt: skip
        except Exception as exc:
            for job, *_ in planned:
                self._failed(job, exc)
            return
        faults.crash_if("deletion.after_erase")  # the stores changed; the stages and their events not yet
        for (job, identifiers, holds, _), outcome in zip(planned, outcomes, strict=True):
            try:
                self._settle_erasure(job, identifiers, holds, outcome)
            except Exception as exc:
                self._failed(job, exc)
        self.relay_wakeup.set()
        self.ports.notices.wakeup()

    def _settle_erasure(self, job: sa.Row[Any], identifiers: dict[str, frozenset[str]], holds: tuple[LegalHold, ...],
                        outcome: ErasureOutcome) -> None:  # fmt: skip
        with self.ports.engine.begin() as conn:
            self._save_outcomes(conn, job, outcome.stores)
            keyed = {(f"{store.store}#{job.verifications}", "StoreErased"): store for store in outcome.stores}
            erased = self._unreported(conn, job.request_id, keyed)
            events = [self._store_event(job, store) for store in erased]
            events += [self._unavailable_event(job, store, reason) for store, reason in outcome.failures.items()]
            if outcome.complete:
                # A hold on the subject keeps everything: no suppression entry, no instruction to delete elsewhere.
                if not any(hold.store is None for hold in holds):
                    self.ports.ledger.add(conn, job.request_id, identifiers, subject_key=job.subject_key)
                    self.ports.notices.enqueue(conn, job, identifiers)
                self._move(job, "verifying", conn=conn, erased=True)
            else:
                self._move(job, "erasing", conn=conn, retry=True)
            self.ports.outbox.add(conn, self.topic, events)

    def correct(self, job: sa.Row[Any]) -> None:
        identifiers, corrections = self.identifiers(job), self.corrections(job)
        done = self.ports.corrections.apply(identifiers, corrections)
        with self.ports.engine.begin() as conn:
            stores = {(f"{store}#correct", "StoreErased"): store for store in sorted({item.store for item in done})}
            events = [self._correction_event(job, store, [d for d in done if d.store == store], "done")
                      for store in self._unreported(conn, job.request_id, stores)]  # fmt: skip
            self.ports.kept.keep(conn, job.request_id, job.subject_key, identifiers, corrections, done)
            self.ports.notices.enqueue_corrections(conn, job, identifiers,
                                                   provider_corrections(self.datamap, corrections))  # fmt: skip
            self._move(job, "verifying", conn=conn, erased=True)
            self.ports.outbox.add(conn, self.topic, events)
        self.ports.notices.wakeup()

    def corrections(self, job: sa.Row[Any]) -> dict[str, str]:
        opened = self.ports.sealer.open(Sealed.from_json(job.corrections_sealed), job.subject_key, job.request_id)
        return {str(key): str(value) for key, value in opened.items()}

    def recheck_corrections(self) -> None:
        """§7023(k): a refresh that brought an old value back is reverted, and the timeline says so."""
        reverted = self.ports.kept.recheck()
        with self.ports.engine.begin() as conn:
            events = [Event("StoreErased", row.subject_key, PRODUCER, request_id=row.request_id, payload={
                "store": item.store, "store_kind": "sql", "operation": "correct", "outcome": "reapplied",
                "attempt": 1, "actions": [{"collection": f"{item.collection}.{item.field}", "action": "corrected",
                                           "records": item.records}], "exemptions": [], "reason": None,
            }) for row, item in reverted]  # fmt: skip
            self.ports.outbox.add(conn, self.topic, events)
        if reverted:
            self.relay_wakeup.set()

    def verify(self, job: sa.Row[Any]) -> None:
        if job.operation == "correct":
            self.verify_correction(job)
            return
        result = walk(self.datamap, self.ports.verifiers, self.identifiers(job))
        if result.failures:
            self._move(job, "verifying", retry=True)
            return
        outcomes = self._outcomes(job, job.verifications + 1)
        found = [record for records in result.records.values() for record in records]
        check = verify(found, outcomes)
        attempt = job.verifications + 1
        event = self._event(job, "DeletionVerified", {
            "verified": check.verified, "exempt_records": check.exempt_records, "attempt": attempt,
            "remaining": [{"store": s, "collection": c, "records": n} for (s, c), n in sorted(check.remaining.items())],
        })  # fmt: skip
        again = not check.verified and attempt < self.settings.verification_attempts
        with self.ports.engine.begin() as conn:
            conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == job.request_id)
                         .values(verifications=attempt, verified=check.verified))  # fmt: skip
            self._move(job, "erasing" if again else "answering", conn=conn)
            self.ports.outbox.add(conn, self.topic, [event])

    def verify_correction(self, job: sa.Row[Any]) -> None:
        stale = self.ports.corrections.apply(self.identifiers(job), self.corrections(job), changed_only=True)
        verified = not any(item.records for item in stale)
        event = self._event(job, "DeletionVerified", {
            "verified": verified, "exempt_records": 0, "attempt": job.verifications + 1,
            "remaining": [{"store": i.store, "collection": f"{i.collection}.{i.field}", "records": i.records}
                          for i in stale if i.records],
        })  # fmt: skip
        with self.ports.engine.begin() as conn:
            conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == job.request_id)
                         .values(verifications=job.verifications + 1, verified=verified))  # fmt: skip
            self._move(job, "answering", conn=conn)
            self.ports.outbox.add(conn, self.topic, [event])

    def answer(self, job: sa.Row[Any]) -> None:
        with self.ports.engine.begin() as conn:
            status = self.ports.notices.status(conn, job)
            events = self._provider_events(conn, job, status)
            waited = utcnow() - (job.erased_at or utcnow()) >= timedelta(seconds=self.settings.provider_grace_seconds)
            if status.pending and not waited:
                self._move(job, "answering", conn=conn, retry_in=1.0)
            else:
                events += self._final_events(conn, job, status)
                self._move(job, "complete", conn=conn, completed=True)
            self.ports.outbox.add(conn, self.topic, events)

    def report_overdue(self) -> None:
        with self.ports.engine.begin() as conn:
            events = [Event("ProviderOverdue", item.subject_key, PRODUCER, request_id=item.request_id,
                            payload={"recipient": item.recipient, "instruction_id": item.instruction_id,
                                     "confirm_by": item.deadline})
                      for item in self.ports.notices.overdue(conn)]  # fmt: skip
            self.ports.outbox.add(conn, self.topic, events)

    def _final_events(self, conn: sa.Connection, job: sa.Row[Any], status: Any) -> list[Event]:
        if job.operation == "correct":
            return self._correction_answer(job, status)
        outcomes = self._outcomes(job, job.verifications, conn)
        verified = bool(job.verified)
        outcome, summary = response_summary(outcomes, verified, status.confirmed, status.pending, status.not_notified)
        exemptions = [_exemption(store.store, item) for store in outcomes for item in store.exempt]
        stores = [{"store": store.store, "outcome": "held" if store.total("held") else "done",
                   "records": store_records(store)} for store in outcomes]  # fmt: skip
        not_notified = [f"{name}: {why}" for name, why in sorted(status.not_notified.items())]
        completed = self._event(job, "DeletionCompleted", {
            "operation": "delete", "verified": verified, "stores": stores, "exemptions": exemptions,
            "providers_confirmed": list(status.confirmed), "providers_pending": list(status.pending),
            "not_notified": not_notified, "undelivered": list(status.undelivered),
        })  # fmt: skip
        return [completed, self._event(job, "RequestCompleted", {"outcome": outcome, "summary": summary})]

    def _correction_answer(self, job: sa.Row[Any], status: Any) -> list[Event]:
        corrections = self.corrections(job)
        done = self.ports.corrections.apply(self.identifiers(job), corrections)
        outcome, summary = correction_summary(done, unknown_keys(self.datamap, list(corrections)), bool(job.verified),
                                              status.confirmed, status.pending, status.not_notified)  # fmt: skip
        stores = [{"store": store, "outcome": "done", "records": sum(d.records for d in done if d.store == store)}
                  for store in sorted({d.store for d in done})]  # fmt: skip
        completed = self._event(job, "DeletionCompleted", {
            "operation": "correct", "verified": bool(job.verified), "stores": stores, "exemptions": [],
            "providers_confirmed": list(status.confirmed), "providers_pending": list(status.pending),
            "not_notified": [f"{name}: {why}" for name, why in sorted(status.not_notified.items())],
        })  # fmt: skip
        return [completed, self._event(job, "RequestCompleted", {"outcome": outcome, "summary": summary})]

    def _correction_event(self, job: sa.Row[Any], store: str, done: list[Corrected], outcome: str) -> Event:
        actions = [{"collection": f"{d.collection}.{d.field}", "action": "corrected", "records": d.records}
                   for d in done]  # fmt: skip
        return self._event(job, "StoreErased", {"store": store, "store_kind": "sql", "operation": "correct",
                                                "outcome": outcome, "attempt": job.attempts + 1, "actions": actions,
                                                "exemptions": [], "reason": None})  # fmt: skip

    def _provider_events(self, conn: sa.Connection, job: sa.Row[Any], status: Any) -> list[Event]:
        keyed = {(instruction_id, kind): (kind, payload) for kind, instruction_id, payload in status.events}
        return [self._event(job, kind, payload) for kind, payload in self._unreported(conn, job.request_id, keyed)]

    def _store_event(self, job: sa.Row[Any], store: StoreOutcome) -> Event:
        actions = [{"collection": collection, "action": action, "records": count}
                   for collection, counted in sorted(store.counts.items())
                   for action, count in sorted(counted.items()) if count]  # fmt: skip
        kind = next((s.kind for s in self.datamap.stores if s.name == store.store), "")
        return self._event(job, "StoreErased", {
            "store": store.store, "store_kind": kind, "operation": "delete",
            "outcome": "held" if store.total("held") else "done", "attempt": job.attempts + 1, "actions": actions,
            "exemptions": [_exemption(store.store, item) for item in store.exempt], "reason": None,
        })  # fmt: skip

    def _unavailable_event(self, job: sa.Row[Any], store: str, reason: str) -> Event:
        kind = next((s.kind for s in self.datamap.stores if s.name == store), "")
        return self._event(job, "StoreErased", {
            "store": store, "store_kind": kind, "operation": "delete", "outcome": "unavailable",
            "attempt": job.attempts + 1, "actions": [], "exemptions": [], "reason": reason,
        })  # fmt: skip

    def _save_outcomes(self, conn: sa.Connection, job: sa.Row[Any], outcomes: tuple[StoreOutcome, ...]) -> None:
        table = orm.store_outcomes
        for outcome in outcomes:
            key = (table.c.request_id == job.request_id, table.c.erase_round == job.verifications,
                   table.c.store == outcome.store)  # fmt: skip
            conn.execute(sa.delete(table).where(*key))
            conn.execute(sa.insert(table).values(request_id=job.request_id, erase_round=job.verifications,
                                                 store=outcome.store, outcome=outcome.to_json()))  # fmt: skip

    def _outcomes(self, job: sa.Row[Any], rounds: int, conn: sa.Connection | None = None) -> list[StoreOutcome]:
        """Every store's outcome, summed over the erase rounds so far (a round per failed verification). Inside a
        transaction pass its connection: a second one per step exhausts the pool when many steps run at once."""
        table = orm.store_outcomes
        query = (sa.select(table).where(table.c.request_id == job.request_id, table.c.erase_round < rounds)
                 .order_by(table.c.erase_round, table.c.store))  # fmt: skip
        if conn is not None:
            rows = conn.execute(query).all()
        else:
            with self.ports.engine.connect() as own:
                rows = own.execute(query).all()
        merged: dict[str, StoreOutcome] = {}
        for row in rows:
            merged[row.store] = _merged(merged.get(row.store), StoreOutcome.from_json(row.outcome))
        return list(merged.values())

    @staticmethod
    def _journal_key(request_id: str, erase_round: int) -> str:
        # Each verification round that found leftovers erases again under a journal entry of its own.
        return request_id if not erase_round else f"{request_id}#{erase_round}"

    @staticmethod
    def _unreported(conn: sa.Connection, request_id: str, keyed: Mapping[tuple[str, str], T]) -> list[T]:
        """The items whose (subject, event type) the request has not reported yet, in order, marked reported by one
        INSERT … ON CONFLICT DO NOTHING RETURNING: a replayed or concurrent step reports nothing twice."""
        if not keyed:
            return []
        table = orm.reported
        rows = [{"request_id": request_id, "subject": subject, "event_type": kind} for subject, kind in keyed]
        statement = (insert_for(conn, table).values(rows)
                     .on_conflict_do_nothing(index_elements=["request_id", "subject", "event_type"])
                     .returning(table.c.subject, table.c.event_type))  # fmt: skip
        fresh = {(row.subject, row.event_type) for row in conn.execute(statement)}
        return [item for key, item in keyed.items() if key in fresh]

    def _move(self, job: sa.Row[Any], stage: str, conn: sa.Connection | None = None, retry: bool = False,
              retry_in: float | None = None, erased: bool = False, completed: bool = False) -> None:  # fmt: skip
        """Commit the job's next stage, only while this process holds its lease (LeaseLost otherwise, which rolls
        back the step's transaction: the process that took the job over does the step again)."""
        values: dict[str, Any] = {"stage": stage, "next_attempt_at": utcnow(), **RELEASED}
        if retry:
            delay = min(self.settings.retry_max_seconds, self.settings.retry_initial_seconds * 2**job.attempts)
            values |= {"attempts": job.attempts + 1, "next_attempt_at": utcnow() + timedelta(seconds=delay)}
        if retry_in is not None:
            values["next_attempt_at"] = utcnow() + timedelta(seconds=retry_in)
        if erased:
            values["erased_at"] = utcnow()
        if completed:
            values["completed_at"] = utcnow()
        statement = sa.update(orm.jobs).where(self.leases.owned(job.request_id)).values(**values)
        if conn is not None:
            _moved(conn.execute(statement))
            return
        with self.ports.engine.begin() as own:
            _moved(own.execute(statement))

    def _event(self, job: sa.Row[Any], event_type: str, payload: dict[str, Any]) -> Event:
        return Event(event_type, job.subject_key, PRODUCER, request_id=job.request_id, payload=payload)


# Requests already erased are verified and answered before new ones are erased: with thousands queued, taking
# them by due time alone starved verification until the whole queue was erased.
_FINISH_FIRST = (sa.case((orm.jobs.c.stage == "answering", 0), (orm.jobs.c.stage == "verifying", 1), else_=2),
                 orm.jobs.c.next_attempt_at)  # fmt: skip


def claim_jobs(leases: Leases, limit: int, linger_seconds: float = 0.0) -> list[sa.Row[Any]]:
    """Lease up to `limit` due jobs, answers and verifications first. With a linger, deletions due for erasure are
    claimed together, and only once the oldest of them has waited `linger_seconds`."""
    now, jobs = utcnow(), orm.jobs
    due = sa.and_(jobs.c.stage.in_(("erasing", "verifying", "answering")), jobs.c.next_attempt_at <= now,
                  leases.free(now))  # fmt: skip
    chosen = due
    if linger_seconds > 0:
        # Decided in the claiming statement itself: a check before it could see none, and the claim then take the
        # first to arrive alone while the others were still being consumed. Other steps are never held.
        other = orm.jobs.alias("lingering")
        has_lingered = sa.exists().where(
            other.c.stage == "erasing", other.c.operation == "delete",
            other.c.next_attempt_at <= now - timedelta(seconds=linger_seconds), leases.free(now, other),
        )  # fmt: skip
        erasing = sa.and_(jobs.c.stage == "erasing", jobs.c.operation == "delete")
        chosen = sa.and_(due, sa.or_(sa.not_(erasing), has_lingered))
    # Each lease re-checks only that the job is still due and free (another replica may have taken it): the
    # linger was decided by the SELECT, and leasing the oldest must not hold back the rest of its batch.
    return leases.claim(sa.select(jobs).where(chosen).order_by(*_FINISH_FIRST).limit(limit), due, now)


def _moved(result: sa.CursorResult[Any]) -> None:
    if result.rowcount != 1:
        raise LeaseLost("the job's lease lapsed and another process claimed it")


def _merged(before: StoreOutcome | None, after: StoreOutcome) -> StoreOutcome:
    if before is None:
        return after
    counts = {name: dict(actions) for name, actions in before.counts.items()}
    for name, actions in after.counts.items():
        for action, records in actions.items():
            counts.setdefault(name, {})[action] = counts.get(name, {}).get(action, 0) + records
    return StoreOutcome(before.store, counts, before.exempt + after.exempt)


def _exemption(store: str, item: Any) -> dict[str, Any]:
    until = item.retain_until.date().isoformat() if item.retain_until else None
    return {"store": store, "collection": item.collection, "code": item.code, "basis": item.reason,
            "records": item.records, "retain_until": until}  # fmt: skip
