"""Correcting a subject's data (§1798.106, §7023): apply each correction in the stores and instruct the recipients
holding a corrected field, read the stored values back, build the answer, and re-apply a kept correction that a
refresh reverted."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from services.common.event_types import EventType
from services.common.events import Event
from services.deletion.corrections import provider_corrections, unknown_keys
from services.deletion.jobs import Job, unreported
from services.deletion.notices import NoticeStatus
from services.deletion.stages.context import StageContext
from services.deletion.verification import correction_summary

log = logging.getLogger(__name__)


class Correct:
    """The stages of a correct request, and the recheck of the corrections kept."""

    def __init__(self, context: StageContext) -> None:
        self.context = context

    def erase(self, job: Job) -> None:
        """The erasing stage of a correction: apply it once its request's corrections are known."""
        if job.corrections_sealed is None:
            # Discovery's result and the request come on two topics with no order between them: after a restart the
            # DiscoveryCompleted can be applied first. The correction waits for its request (not a failure).
            log.info("correction waits for its request's corrections", extra={"request_id": job.request_id})
            self.context.jobs.move(job, "erasing", retry_in=1.0)
            return
        self.correct(job)

    def correct(self, job: Job) -> None:
        context, ports = self.context, self.context.ports
        identifiers, corrections = context.identifiers(job), context.corrections(job)
        done = ports.corrections.apply(identifiers, corrections)
        with ports.engine.begin() as conn:
            corrected = sorted({item.store for item in done})
            stores = {(f"{store}#correct", EventType.STORE_ERASED): store for store in corrected}
            events = [context.events.store_corrected(job, store, [d for d in done if d.store == store])
                      for store in unreported(conn, job.request_id, stores)]  # fmt: skip
            ports.kept.keep(conn, job.request_id, job.subject_key, identifiers, corrections, done)
            ports.notices.enqueue_corrections(conn, job, identifiers,
                                              provider_corrections(context.datamap, corrections))  # fmt: skip
            context.jobs.move(job, "verifying", conn=conn, erased=True)
            context.publish(conn, events)
        ports.notices.wakeup()

    def verify(self, job: Job) -> None:
        """Read the stored values back: a field still not holding the corrected value is named as remaining."""
        context = self.context
        stale = context.ports.corrections.apply(context.identifiers(job), context.corrections(job), changed_only=True)
        verified = not any(item.records for item in stale)
        event = context.events.correction_verified(job, stale, verified)
        with context.ports.engine.begin() as conn:
            context.jobs.record_verification(conn, job, job.verifications + 1, verified)
            context.jobs.move(job, "answering", conn=conn)
            context.publish(conn, [event])

    def answer(self, conn: sa.Connection, job: Job, status: NoticeStatus) -> list[Event]:
        corrections = self.context.corrections(job)
        done = self.context.ports.corrections.apply(self.context.identifiers(job), corrections)
        unknown = unknown_keys(self.context.datamap, list(corrections))
        outcome, summary = correction_summary(done, unknown, bool(job.verified), status.confirmed, status.pending,
                                              status.not_notified)  # fmt: skip
        build = self.context.events
        return [build.correction_completed(job, done, status), build.request_completed(job, outcome, summary)]

    def recheck(self) -> None:
        """§7023(k): a refresh that brought an old value back is reverted, and the timeline says so."""
        context = self.context
        reverted = context.ports.kept.recheck()
        with context.ports.engine.begin() as conn:
            events = [context.events.correction_reapplied(row.request_id, row.subject_key, item)
                      for row, item in reverted]  # fmt: skip
            context.publish(conn, events)
        if reverted:
            context.relay_wakeup.set()
