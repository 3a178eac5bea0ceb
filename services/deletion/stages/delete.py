"""Deleting a subject: erase every store per the data map (a batch of requests together), record the suppression
entries and instruct the recipients, verify by a fresh walk of the erased stores, and build the answer."""

from __future__ import annotations

import sqlalchemy as sa

from services.common import faults
from services.common.event_types import EventType
from services.common.events import Event
from services.common.metrics import DELETION_LATENCY, ERASURE_BATCH
from services.common.stores.walk import walk
from services.deletion.erasure import ErasureOutcome, ErasurePlan, LegalHold, plan_erasure
from services.deletion.jobs import Job, journal_key, unreported
from services.deletion.notices import NoticeStatus
from services.deletion.stages.context import StageContext
from services.deletion.verification import response_summary, verify

Planned = tuple[Job, dict[str, frozenset[str]], tuple[LegalHold, ...], ErasurePlan]


class Delete:
    """The stages of a delete request."""

    def __init__(self, context: StageContext) -> None:
        self.context = context

    def erase(self, job: Job) -> None:
        self.erase_batch([job])

    def erase_batch(self, jobs: list[Job]) -> None:
        """Plan each deletion, erase them all store by store, then settle each in its own transaction."""
        context = self.context
        planned = [plan for plan in map(self._plan, jobs) if plan is not None]
        ERASURE_BATCH.observe(len(planned))
        try:
            outcomes = context.ports.erasure.erase_many([(plan, journal_key(job.request_id, job.verifications))
                                                         for job, _, _, plan in planned])  # fmt: skip
        except Exception as exc:
            for job, *_ in planned:
                context.jobs.fail(job, exc)
            return
        faults.crash_if("deletion.after_erase")  # the stores changed; the stages and their events not yet
        for (job, identifiers, holds, _), outcome in zip(planned, outcomes, strict=True):
            try:
                self._settle(job, identifiers, holds, outcome)
            except Exception as exc:
                context.jobs.fail(job, exc)
        context.relay_wakeup.set()
        context.ports.notices.wakeup()

    def _plan(self, job: Job) -> Planned | None:
        self.context.alive()
        try:
            identifiers = self.context.identifiers(job)
            holds = self.context.ports.holds.for_subject(job.subject_key)
            return job, identifiers, holds, plan_erasure(self.context.datamap_for(job), identifiers,
                                                         subject_key=job.subject_key, holds=holds)  # fmt: skip
        except Exception as exc:
            self.context.jobs.fail(job, exc)
            return None

    def _settle(self, job: Job, identifiers: dict[str, frozenset[str]], holds: tuple[LegalHold, ...],
                outcome: ErasureOutcome) -> None:  # fmt: skip
        context, build = self.context, self.context.events
        with context.ports.engine.begin() as conn:
            context.jobs.save_outcomes(conn, job, outcome.stores)
            keyed = {(f"{store.store}#{job.verifications}", EventType.STORE_ERASED): store for store in outcome.stores}
            events = [build.store_erased(job, store) for store in unreported(conn, job.request_id, keyed)]
            events += [build.store_unavailable(job, store, reason) for store, reason in outcome.failures.items()]
            if outcome.complete:
                # A hold on the subject keeps everything: no suppression entry, no instruction to delete elsewhere.
                if not any(hold.store is None for hold in holds):
                    context.ports.ledger.add(conn, job.request_id, identifiers, subject_key=job.subject_key)
                    context.ports.notices.enqueue(conn, job, identifiers)
                context.jobs.move(job, "verifying", conn=conn, erased=True)
            else:
                context.jobs.move(job, "erasing", conn=conn, retry=True)
            context.publish(conn, events)

    def verify(self, job: Job) -> None:
        """Walk the erased stores again: nothing may remain beyond kept records, or the job is erased again."""
        context = self.context
        result = walk(context.datamap_for(job), context.verifiers_for(job), context.identifiers(job))
        if result.failures:
            context.jobs.move(job, "verifying", retry=True)
            return
        attempt = job.verifications + 1
        found = result.subjects_own(context.datamap_for(job))  # shared rows (products) are never erased
        check = verify(found, context.jobs.outcomes(job, attempt))
        event = context.events.deletion_verified(job, attempt, check)
        again = not check.verified and attempt < context.settings.verification_attempts
        with context.ports.engine.begin() as conn:
            context.jobs.record_verification(conn, job, attempt, check.verified)
            context.jobs.move(job, "erasing" if again else "answering", conn=conn)
            context.publish(conn, [event])
        if check.verified and job.received_at is not None:  # observed once committed: a lost lease rolls back
            DELETION_LATENCY.labels(job.operation).observe((event.occurred_at - job.received_at).total_seconds())

    def answer(self, conn: sa.Connection, job: Job, status: NoticeStatus) -> list[Event]:
        outcomes = self.context.jobs.outcomes(job, job.verifications, conn)
        outcome, summary = response_summary(outcomes, bool(job.verified), status.confirmed, status.pending,
                                            status.not_notified)  # fmt: skip
        build = self.context.events
        return [build.deletion_completed(job, outcomes, status), build.request_completed(job, outcome, summary)]
