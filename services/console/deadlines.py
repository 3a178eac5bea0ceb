"""A request's legal clocks as the request page shows them: acknowledge, respond (and its one extension), each with
its state. Pure. The deadline watch's `DeadlineMissed` on the timeline counts as overdue even before the console's
own clock says so (the watch's clock is the one the law is watched by; tests run it ahead)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.clocks import deadlines_for
from services.common.event_types import EventType
from services.common.request_types import RequestType
from services.console.clients.intake import RequestStatus
from services.console.clients.parsing import moment

DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Clock:
    name: str  # "Acknowledge", "Respond"
    due_at: datetime
    done_at: datetime | None
    state: str  # on_time | due_soon | overdue | met | met_late
    days_left: int | None  # whole days to the due instant while open and not overdue

    @property
    def words(self) -> str:
        if self.state == "met":
            return "done in time"
        if self.state == "met_late":
            return "done late"
        if self.state == "overdue":
            return "overdue"
        left = self.days_left or 0
        return "due today" if left == 0 else f"{left} day{'s' if left != 1 else ''} left"


def clocks(status: RequestStatus, entries: Sequence[dict[str, Any]], record: dict[str, Any] | None,
           now: datetime) -> list[Clock]:  # fmt: skip
    """The request's clocks in the order the law runs them (opt-out types have no acknowledgement)."""
    missed, answered_at = _missed(entries), _answered_at(status, record)
    found = []
    acknowledge_by = _acknowledge_by(status)
    if acknowledge_by is not None:
        done = status.acknowledged_at or answered_at
        found.append(_clock("Acknowledge", acknowledge_by, done, now, _was_missed(missed, ("acknowledge",),
                                                                                  acknowledge_by)))  # fmt: skip
    found.append(_clock("Respond", status.due_at, answered_at, now,
                        _was_missed(missed, ("respond", "opt_out"), status.due_at)))  # fmt: skip
    return found


def may_extend(status: RequestStatus, now: datetime) -> bool:
    """Whether the page offers the extension: once, before the answer, while the original due date has not passed."""
    return (status.max_respond_by is not None and not status.extended and not status.answered
            and now <= status.due_at)  # fmt: skip


def _clock(name: str, due: datetime, done: datetime | None, now: datetime, watch_missed: bool) -> Clock:
    if done is not None:
        return Clock(name, due, done, "met" if done <= due else "met_late", None)
    if watch_missed or now > due:
        return Clock(name, due, None, "overdue", None)
    left = (due - now).days
    return Clock(name, due, None, "due_soon" if left < DUE_SOON_DAYS else "on_time", left)


def _acknowledge_by(status: RequestStatus) -> datetime | None:
    try:
        request_type = RequestType(status.request_type)
    except ValueError:
        return None
    return deadlines_for(request_type, status.received_at).acknowledge_by


def _answered_at(status: RequestStatus, record: dict[str, Any] | None) -> datetime | None:
    """When the request was answered: intake's answer, else the §7101 record's date of response (a denial)."""
    if status.held:
        return None  # a held answer is no answer: the clock keeps running until it is approved
    if status.answer is not None and status.answer.responded_at is not None:
        return status.answer.responded_at
    recorded = moment((record or {}).get("date_of_response"))
    if recorded is not None or not status.answered:
        return recorded
    return status.received_at  # answered, and audit has not recorded when yet: a denial is given on receipt


def _missed(entries: Sequence[dict[str, Any]]) -> set[tuple[str, datetime | None]]:
    return {(str(entry["details"].get("clock")), moment(entry["details"].get("due_at"))) for entry in entries
            if entry.get("event_type") == EventType.DEADLINE_MISSED and entry.get("details")}  # fmt: skip


def _was_missed(missed: set[tuple[str, datetime | None]], names: tuple[str, ...], due: datetime) -> bool:
    """Whether the watch announced this clock missed for this due instant (an extension's new date is another)."""
    return any(clock in names and at is not None and abs((at - due).total_seconds()) < 1 for clock, at in missed)
