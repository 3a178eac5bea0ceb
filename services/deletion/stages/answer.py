"""The answer every request ends in: report the recipients' instructions and confirmations, wait a grace period
for the ones still pending, then answer with the operation's own result; and the overdue recipients."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from services.common.events import Event, utcnow
from services.deletion.jobs import Job, unreported
from services.deletion.notices import NoticeStatus
from services.deletion.stages.context import Operation, StageContext


class Answer:
    """The answering stage, shared by deletions and corrections."""

    def __init__(self, context: StageContext) -> None:
        self.context = context

    def answer(self, job: Job, operation: Operation) -> None:
        context = self.context
        with context.ports.engine.begin() as conn:
            status = context.ports.notices.status(conn, job)
            events = self._provider_events(conn, job, status)
            grace = timedelta(seconds=context.settings.provider_grace_seconds)
            waited = utcnow() - (job.erased_at or utcnow()) >= grace
            if status.pending and not waited:
                context.jobs.move(job, "answering", conn=conn, retry_in=1.0)
            else:
                events += operation.answer(conn, job, status)
                context.jobs.move(job, "complete", conn=conn, completed=True)
            context.publish(conn, events)

    def report_overdue(self) -> None:
        """ProviderOverdue for each recipient past its deadline, once."""
        context = self.context
        with context.ports.engine.begin() as conn:
            overdue = context.ports.notices.overdue(conn)
            context.publish(conn, [context.events.provider_overdue(item) for item in overdue])

    def _provider_events(self, conn: sa.Connection, job: Job, status: NoticeStatus) -> list[Event]:
        keyed = {(instruction_id, kind): (kind, payload) for kind, instruction_id, payload in status.events}
        return [self.context.events.provider(job, kind, payload)
                for kind, payload in unreported(conn, job.request_id, keyed)]  # fmt: skip
