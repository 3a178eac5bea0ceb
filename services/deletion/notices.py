"""Recipients of a deletion: one signed instruction each (persisted with the job's transaction), their state read
back for the timeline and the consumer's response, a confirmation reported the moment it is recorded, and the loop
that sends and polls them."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.common.datamap import DataMap
from services.common.datamap.subjects import recipients_of
from services.common.event_types import EventType
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.payloads.deletion import ProviderConfirmedPayload, ProviderInstructedPayload
from services.deletion.handlers import PRODUCER
from services.deletion.jobs import unreported
from services.deletion.providers.confirmations import StatusPoller
from services.deletion.providers.instructions import InstructionQueue, InstructionRow
from services.deletion.providers.model import Notice, ProviderDirectory, State
from services.deletion.providers.overdue import OverdueInstruction, overdue
from services.deletion.providers.sender import InstructionSender

log = logging.getLogger(__name__)
WAITING = frozenset({State.PENDING, State.DELIVERED, State.MANUAL, State.FAILED})


ProviderEvent = tuple[EventType, str, ProviderInstructedPayload | ProviderConfirmedPayload]  # type, key, payload


@dataclass
class NoticeStatus:
    confirmed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    not_notified: dict[str, str] = field(default_factory=dict)
    undelivered: list[str] = field(default_factory=list)  # still to be sent: the payload needs the data key
    events: list[ProviderEvent] = field(default_factory=list)  # (event type, instruction, payload)


def status_of(rows: list[InstructionRow], roles: Mapping[str, str]) -> NoticeStatus:
    status = NoticeStatus()
    for row in sorted(rows, key=lambda r: r.recipient):
        instructed = functools.partial(ProviderInstructedPayload, recipient=row.recipient,
                                       role=roles.get(row.recipient, ""), operation=row.kind,
                                       instruction_id=row.instruction_id, confirm_by=row.deadline)  # fmt: skip
        if row.state is State.NOT_NOTIFIED:
            status.not_notified[row.recipient] = row.reason or ""
            status.events.append((EventType.PROVIDER_INSTRUCTED, row.instruction_id,
                                  instructed(outcome="not_notified", explanation=row.reason)))  # fmt: skip
            continue
        if row.delivered_at is not None or row.state is State.CONFIRMED:
            status.events.append((EventType.PROVIDER_INSTRUCTED, row.instruction_id, instructed(outcome="delivered")))
        elif row.state in (State.MANUAL, State.FAILED):
            status.events.append((EventType.PROVIDER_INSTRUCTED, row.instruction_id,
                                  instructed(outcome=row.state.value, explanation=row.reason)))  # fmt: skip
        if row.state is State.CONFIRMED:
            status.confirmed.append(row.recipient)
            confirmed = ProviderConfirmedPayload(recipient=row.recipient, instruction_id=row.instruction_id,
                                                 confirmation_id=row.confirmation_id)  # fmt: skip
            status.events.append((EventType.PROVIDER_CONFIRMED, f"{row.instruction_id}#confirmed", confirmed))
        elif row.state in WAITING:
            status.pending.append(row.recipient)
        if row.state is State.PENDING:
            status.undelivered.append(row.recipient)
    return status


def roles_of(datamap: DataMap) -> dict[str, str]:
    """Each recipient's role (service_provider, contractor, third_party), as the events name it."""
    return {recipient.name: recipient.role for recipient in datamap.recipients}


class ConfirmationReporter:
    """Puts a confirmed instruction's events not yet reported (its ProviderInstructed, its ProviderConfirmed) in the
    outbox, in the transaction that confirmed it: a confirmation after the answer (by callback, poll or operator)
    reaches the timeline too, and the answer step, reading the same journal (`unreported`), never repeats it."""

    def __init__(self, roles: Mapping[str, str], outbox: Outbox, topic: str) -> None:
        self.roles = roles
        self.outbox = outbox
        self.topic = topic

    def __call__(self, conn: sa.Connection, row: InstructionRow) -> None:
        keyed = {(key, kind): (kind, payload) for kind, key, payload in status_of([row], self.roles).events}
        events = [Event(kind, row.subject_key, PRODUCER, payload, request_id=row.request_id)
                  for kind, payload in unreported(conn, row.request_id, keyed)]  # fmt: skip
        self.outbox.add(conn, self.topic, events)


class ProviderNotices:
    def __init__(self, datamap: DataMap, queue: InstructionQueue, directory: ProviderDirectory,
                 sender: InstructionSender, poller: StatusPoller, confirm_within: timedelta,
                 callback_url: str | None = None) -> None:  # fmt: skip
        self.datamap = datamap
        self.roles = roles_of(datamap)
        self.queue = queue
        self.directory = directory
        self.sender = sender
        self.poller = poller
        self.confirm_within = confirm_within
        self.callback_url = callback_url  # where recipients POST their signed confirmations, sent with each notice
        self.last_loop_at = datetime.now(UTC)

    def enqueue(self, conn: sa.Connection, job: Any, identifiers: Mapping[str, frozenset[str]]) -> None:
        """Instruct the recipients holding the job's subject type's data (every recipient, for a consumer)."""
        recipients = recipients_of(self.datamap, getattr(job, "subject_type", "consumer"))
        if not recipients:
            return
        notice = Notice(job.request_id, job.subject_key, "delete", {k: sorted(v) for k, v in identifiers.items()},
                        datetime.now(UTC) + self.confirm_within, callback_url=self.callback_url)  # fmt: skip
        self.queue.enqueue(conn, notice, recipients, self.directory)

    def enqueue_corrections(self, conn: sa.Connection, job: Any, identifiers: Mapping[str, frozenset[str]],
                            per_recipient: Mapping[str, Mapping[str, str]]) -> None:  # fmt: skip
        """One correct notice per recipient holding a corrected field, in its own field names."""
        deadline = datetime.now(UTC) + self.confirm_within
        for recipient, corrections in sorted(per_recipient.items()):
            notice = Notice(job.request_id, job.subject_key, "correct", {k: sorted(v) for k, v in identifiers.items()},
                            deadline, corrections=dict(corrections), callback_url=self.callback_url)  # fmt: skip
            self.queue.enqueue(conn, notice, [recipient], self.directory)

    def status(self, conn: sa.Connection, job: Any) -> NoticeStatus:
        return status_of(self.queue.for_request(conn, job.request_id), self.roles)

    def overdue(self, conn: sa.Connection) -> list[OverdueInstruction]:
        return overdue(conn, datetime.now(UTC))

    def wakeup(self) -> None:
        self.sender.wakeup.set()

    def run(self, stop: threading.Event) -> None:
        """Send what is due and poll what is unconfirmed, until stopped."""
        while not stop.is_set():
            self.last_loop_at = datetime.now(UTC)
            try:
                busy = self.sender.send_due() + self.poller.poll_due()
            except Exception:
                log.exception("provider instruction pass failed; instructions stay queued and will be retried")
                busy = 0
            if not busy:
                self.sender.wakeup.wait(0.5)
                self.sender.wakeup.clear()
