"""The deadline watch's rules, with no database: a clock's state at an instant, and what it must announce.

A clock is due at `due_at` and satisfied at `satisfied_at` (or not yet). Every decision is a function of those two
instants, the lead and `now`, never of when the watch happened to run: replays and rebuilds announce the same.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Clock(StrEnum):
    """Every clock audit watches (services/common/clocks.py, and the providers' and downstreams' confirmations)."""

    ACKNOWLEDGE = "acknowledge"  # 10 business days (§7021(a))
    RESPOND = "respond"  # 45 days, 90 once extended (§7021(b))
    EXTENSION_NOTICE = "extension_notice"  # the notice of an extension is due within the first 45 days
    OPT_OUT = "opt_out"  # opt-out, limit (and opt-in) effective within 15 business days (§7026(f), §7027)
    PROVIDER_CONFIRMATION = "provider_confirmation"  # a service provider confirms a deletion instruction
    DOWNSTREAM_ACK = "downstream_ack"  # a downstream system acknowledges an opt-out state


class ClockState(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class Announcement(StrEnum):
    """The events the watch produces; the value is the event type's name."""

    APPROACHING = "DeadlineApproaching"
    MISSED = "DeadlineMissed"


# Fixed forever: event ids derived from it must stay the same across releases, replicas and rebuilds.
DEADLINE_NAMESPACE = uuid.UUID("6f7c1d2e-4b9a-5e83-9c61-0d2f4a8b7e15")


@dataclass(frozen=True)
class ClockTimes:
    """When a clock is due, when (if ever) the answer it waits for arrived, and when it started."""

    due_at: datetime
    satisfied_at: datetime | None = None
    started_at: datetime | None = None


def state_at(clock: ClockTimes, now: datetime, lead: timedelta) -> ClockState:
    """on_time before due - lead; due_soon from due - lead to due inclusive; overdue after due, or answered late."""
    if _answered_late(clock) or (clock.satisfied_at is None and now > clock.due_at):
        return ClockState.OVERDUE
    if clock.due_at - lead <= now <= clock.due_at and not _answered_by(clock, now):
        return ClockState.DUE_SOON
    return ClockState.ON_TIME


def is_open(clock: ClockTimes, now: datetime) -> bool:
    """Still waiting for its answer at `now`."""
    return not _answered_by(clock, now)


def crossing(clock: ClockTimes, kind: Announcement, lead: timedelta) -> datetime:
    """The instant the clock crossed into the announced state: due - lead for approaching (its start, for a clock
    shorter than the lead), due for missed."""
    if kind is Announcement.MISSED:
        return clock.due_at
    return max(clock.due_at - lead, clock.started_at or clock.due_at - lead)


def announcements_due(clock: ClockTimes, now: datetime, lead: timedelta) -> list[Announcement]:
    """What this clock has announced by `now`: approaching once open at due - lead, missed once due passed open."""
    due: list[Announcement] = []
    soon = crossing(clock, Announcement.APPROACHING, lead)
    if now >= soon and (clock.satisfied_at is None or clock.satisfied_at > soon):
        due.append(Announcement.APPROACHING)
    if _answered_late(clock) or (clock.satisfied_at is None and now > clock.due_at):
        due.append(Announcement.MISSED)
    return due


def announcement_id(owner: str, clock: str, item: str, due_at: datetime, kind: Announcement) -> str:
    """The event id of one announcement: the same for the same clock, due instant and kind, wherever computed."""
    name = "|".join((owner, clock, item, due_at.astimezone(UTC).isoformat(), kind.value))
    return str(uuid.uuid5(DEADLINE_NAMESPACE, name))


def _answered_late(clock: ClockTimes) -> bool:
    return clock.satisfied_at is not None and clock.satisfied_at > clock.due_at


def _answered_by(clock: ClockTimes, now: datetime) -> bool:
    return clock.satisfied_at is not None and clock.satisfied_at <= now
