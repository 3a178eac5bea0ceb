"""Unit tests of the deadline watch's rules: a clock's state at an instant and what it announces, at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.audit.deadlines import (
    Announcement,
    ClockState,
    ClockTimes,
    announcement_id,
    announcements_due,
    crossing,
    state_at,
)

DUE = datetime(2026, 12, 21, 7, 59, 59, 999999, tzinfo=UTC)
LEAD = timedelta(days=7)
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
OPEN = ClockTimes(DUE)


def test_before_the_lead_a_clock_is_on_time_and_announces_nothing() -> None:
    assert state_at(OPEN, DUE - LEAD - TICK, LEAD) is ClockState.ON_TIME
    assert announcements_due(OPEN, DUE - LEAD - TICK, LEAD) == []


def test_at_due_minus_lead_exactly_it_is_due_soon_and_approaching() -> None:
    assert state_at(OPEN, DUE - LEAD, LEAD) is ClockState.DUE_SOON
    assert announcements_due(OPEN, DUE - LEAD, LEAD) == [Announcement.APPROACHING]


def test_at_the_due_instant_it_is_still_due_soon_not_overdue() -> None:
    assert state_at(OPEN, DUE, LEAD) is ClockState.DUE_SOON
    assert Announcement.MISSED not in announcements_due(OPEN, DUE, LEAD)


def test_one_microsecond_after_due_it_is_overdue_and_missed() -> None:
    assert state_at(OPEN, DUE + TICK, LEAD) is ClockState.OVERDUE
    assert announcements_due(OPEN, DUE + TICK, LEAD) == [Announcement.APPROACHING, Announcement.MISSED]


def test_answered_one_second_before_the_deadline_is_never_missed() -> None:
    answered = ClockTimes(DUE, satisfied_at=DUE - SECOND)
    later = DUE + timedelta(days=30)
    assert state_at(answered, later, LEAD) is ClockState.ON_TIME
    assert announcements_due(answered, later, LEAD) == [Announcement.APPROACHING]


def test_answered_after_the_deadline_is_missed_even_when_the_watch_first_looks_after_the_answer() -> None:
    late = ClockTimes(DUE, satisfied_at=DUE + SECOND)
    assert state_at(late, DUE + timedelta(days=2), LEAD) is ClockState.OVERDUE
    assert Announcement.MISSED in announcements_due(late, DUE + timedelta(days=2), LEAD)


def test_answered_before_the_lead_announces_nothing_ever() -> None:
    early = ClockTimes(DUE, satisfied_at=DUE - LEAD - SECOND)
    assert announcements_due(early, DUE + timedelta(days=100), LEAD) == []
    assert state_at(early, DUE - SECOND, LEAD) is ClockState.ON_TIME


def test_an_extension_moves_the_due_date_and_gives_a_new_approaching_id() -> None:
    extended = ClockTimes(DUE + timedelta(days=45))
    assert state_at(extended, DUE + SECOND, LEAD) is ClockState.ON_TIME
    assert announcements_due(extended, DUE + SECOND, LEAD) == []
    old = announcement_id("r", "respond", "", DUE, Announcement.APPROACHING)
    new = announcement_id("r", "respond", "", extended.due_at, Announcement.APPROACHING)
    assert old != new


def test_the_announcement_id_depends_on_the_instant_not_its_time_zone_and_the_crossing_on_the_clock_only() -> None:
    pacific = DUE.astimezone(ZoneInfo("America/Los_Angeles"))
    same = announcement_id("r", "respond", "", pacific, Announcement.MISSED)
    assert same == announcement_id("r", "respond", "", DUE, Announcement.MISSED)
    assert same != announcement_id("r", "respond", "", DUE, Announcement.APPROACHING)
    assert crossing(OPEN, Announcement.APPROACHING, LEAD) == DUE - LEAD
    assert crossing(OPEN, Announcement.MISSED, LEAD) == DUE


def test_a_clock_shorter_than_the_lead_approaches_from_its_start() -> None:
    short = ClockTimes(DUE, started_at=DUE - timedelta(days=2))
    assert crossing(short, Announcement.APPROACHING, LEAD) == DUE - timedelta(days=2)
    assert announcements_due(short, DUE - timedelta(days=2), LEAD) == [Announcement.APPROACHING]
    answered_at_once = ClockTimes(DUE, satisfied_at=DUE - timedelta(days=2), started_at=DUE - timedelta(days=2))
    assert announcements_due(answered_at_once, DUE + SECOND, LEAD) == []
