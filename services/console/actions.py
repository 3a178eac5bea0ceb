"""Accountability: every sign-in and every action a person takes through the console becomes an OperatorActed
event (through the console's outbox), naming the account by its id alone, what was done, why, and how it ended.
Audit puts it on the timeline: on the request's when it concerns one."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from services.common.contracts import NO_SUBJECT, UNKNOWN_ACTOR
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.logs import scrub
from services.common.outbox import Outbox
from services.common.payloads.operator import OperatorActedPayload
from services.console.accounts.roles import Operator

PRODUCER = "console"


class Action(StrEnum):
    SIGNED_IN = "signed_in"
    SIGN_IN_REFUSED = "sign_in_refused"
    SIGNED_OUT = "signed_out"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_ADDED = "account_added"
    ACCOUNT_DISABLED = "account_disabled"
    REPORT_DOWNLOADED = "report_downloaded"
    EXTENDED = "extended"
    ANSWER_APPROVED = "answer_approved"
    ANSWER_DENIED = "answer_denied"
    HOLD_PLACED = "hold_placed"
    HOLD_RELEASED = "hold_released"
    RECIPIENT_CONFIRMED = "recipient_confirmed"
    INSTRUCTION_RESENT = "instruction_resent"
    NOTICE_RESENT = "notice_resent"
    CONSENT_LOOKED_UP = "consent_looked_up"


class Result(StrEnum):
    DONE = "done"  # the service did it
    REFUSED = "refused"  # the role, the state of the request or the service said no
    FAILED = "failed"  # the service could not be reached or failed; nothing is known to have changed


@dataclass(frozen=True)
class Acted:
    """One action to put on the record."""

    action: Action
    result: Result
    request_id: str | None = None
    subject_key: str | None = None  # the request's subject key (an HMAC), when known
    reason: str | None = None
    target: str | None = None
    detail: str | None = None


class Accountability:
    """Writes OperatorActed events into the console's outbox; the relay publishes them to privacy.operator.actions."""

    def __init__(self, engine: sa.Engine, outbox: Outbox, topic: str, wakeup: threading.Event | None = None) -> None:
        self.engine = engine
        self.outbox = outbox
        self.topic = topic
        self.wakeup = wakeup

    def record(self, who: Operator | None, acted: Acted, conn: sa.Connection | None = None) -> Event:
        """Put the action on the record (in `conn`'s transaction when given, else in one of its own)."""
        event = self.event(who, acted)
        if conn is not None:
            self.outbox.add(conn, self.topic, [event])
        else:
            with self.engine.begin() as own:
                self.outbox.add(own, self.topic, [event])
        if self.wakeup is not None:
            self.wakeup.set()
        return event

    @staticmethod
    def event(who: Operator | None, acted: Acted) -> Event:
        payload = OperatorActedPayload(
            actor_id=who.id if who else UNKNOWN_ACTOR,
            actor_role=who.role.value if who else "none",
            action=acted.action.value,
            result=acted.result.value,
            reason=_clip(acted.reason, 500),
            target=_clip(acted.target, 200),
            detail=_clip(acted.detail, 500),
        )
        return Event(EventType.OPERATOR_ACTED, acted.subject_key or NO_SUBJECT, PRODUCER, payload,
                     request_id=acted.request_id, occurred_at=utcnow())  # fmt: skip


def _clip(text: str | None, limit: int) -> str | None:
    """An operator's words as the record keeps them: no e-mail address or phone number in clear, within the limit."""
    return None if text is None else scrub(text.replace("\x00", ""))[:limit]
