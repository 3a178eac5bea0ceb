"""Every CCPA/CPRA clock (acknowledge, respond, extend, opt-out, no re-ask) on a California business calendar.
Receipt days are Los Angeles calendar dates; due instants are the end of the due day there, in UTC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from services.common.request_types import RequestType

BUSINESS_TZ = ZoneInfo("America/Los_Angeles")
ACKNOWLEDGE_BUSINESS_DAYS = 10
RESPOND_CALENDAR_DAYS = 45
EXTENDED_RESPOND_CALENDAR_DAYS = 90
OPT_OUT_BUSINESS_DAYS = 15
_SATURDAY = 5


class ExtensionNotAllowed(Exception):
    """The respond_by deadline of this request may not be extended (§1798.130(a)(2)(A))."""


@dataclass(frozen=True)
class Deadlines:
    received_at: datetime
    acknowledge_by: datetime | None
    respond_by: datetime
    max_extended_respond_by: datetime | None


# Days of observance the library lists for California that are not days businesses close: counting them would
# push deadlines later, the unsafe direction for compliance, so a missing closure day only makes us stricter.
NOT_CLOSURE_DAYS = frozenset({"Susan B. Anthony Day", "Diwali"})


# The closure days of the years a clock can reach, computed by the holidays library and kept as a table: importing
# its US calendar loads every country's module (8 MiB per process). `python -m devtools.closure_days` rewrites the
# table; tests/unit/test_clocks.py fails when it differs from what the installed library says.
CLOSURE_DAYS_TABLE = Path(__file__).with_name("closure_days.json")


def closure_days_from_library(year: int) -> frozenset[date]:
    """California's holidays of `year` as the holidays library lists them, less NOT_CLOSURE_DAYS."""
    import holidays

    # One immutable set per year: the holidays object grows itself on lookup, which is not thread-safe.
    calendar = holidays.country_holidays("US", subdiv="CA", years=year)
    return frozenset(day for day in calendar if not _only_observance(calendar.get_list(day)))


@lru_cache(maxsize=1)
def _closure_table() -> dict[int, frozenset[date]]:
    table = json.loads(CLOSURE_DAYS_TABLE.read_text(encoding="utf-8"))
    first, last = table["years"]
    days: dict[int, set[date]] = {year: set() for year in range(first, last + 1)}
    for text in table["days"]:
        day = date.fromisoformat(text)
        days[day.year].add(day)
    return {year: frozenset(found) for year, found in days.items()}


@lru_cache(maxsize=64)
def _california_holidays(year: int) -> frozenset[date]:
    known = _closure_table().get(year)
    return known if known is not None else closure_days_from_library(year)


def _only_observance(names: list[str]) -> bool:
    return all(name in NOT_CLOSURE_DAYS for name in names)


def is_business_day(d: date) -> bool:
    """Monday to Friday and not a California holiday (holidays' US/CA calendar less NOT_CLOSURE_DAYS)."""
    return d.weekday() < _SATURDAY and d not in _california_holidays(d.year)


def add_business_days(d: date, n: int) -> date:
    """The n-th business day after d; d itself never counts, so n=0 returns d."""
    if n < 0:
        raise ValueError(f"n must be a non-negative number of business days, got {n}")
    current = d
    remaining = n
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def require_aware(value: datetime, argument: str) -> None:
    """Reject naive datetimes: a clock computed from an unknown offset can be a day off."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{argument} must be a timezone-aware datetime (UTC expected), got a naive datetime")


def receipt_day(received_at: datetime) -> date:
    """The Los Angeles calendar date on which the request was received."""
    require_aware(received_at, "received_at")
    return received_at.astimezone(BUSINESS_TZ).date()


def end_of_day(d: date) -> datetime:
    """23:59:59.999999 Los Angeles time on d, in UTC (DST-safe: LA never changes offset at midnight)."""
    return datetime.combine(d, time.max, tzinfo=BUSINESS_TZ).astimezone(UTC)


def deadlines_for(request_type: RequestType, received_at: datetime) -> Deadlines:
    """All deadlines of one request; a due day on a weekend or holiday is not moved (the law does not)."""
    day = receipt_day(received_at)
    if request_type.needs_response_clock:
        return _response_deadlines(received_at, day)
    return _opt_out_deadlines(received_at, day)


def _response_deadlines(received_at: datetime, day: date) -> Deadlines:
    """Know/delete/correct: acknowledge in 10 business days, respond in 45 days, 90 with notice (§7021)."""
    return Deadlines(
        received_at=received_at,
        acknowledge_by=end_of_day(add_business_days(day, ACKNOWLEDGE_BUSINESS_DAYS)),
        respond_by=end_of_day(day + timedelta(days=RESPOND_CALENDAR_DAYS)),
        max_extended_respond_by=end_of_day(day + timedelta(days=EXTENDED_RESPOND_CALENDAR_DAYS)),
    )


def _opt_out_deadlines(received_at: datetime, day: date) -> Deadlines:
    """Opt-out/limit: effective within 15 business days (§7026(f), §7027), no acknowledgement, no extension.

    Opt-in must be applied without delay and has no ceiling of its own; it gets the same 15-business-day
    ceiling so that an opt-in still not applied raises the same overdue alarm as a late opt-out.
    """
    return Deadlines(
        received_at=received_at,
        acknowledge_by=None,
        respond_by=end_of_day(add_business_days(day, OPT_OUT_BUSINESS_DAYS)),
        max_extended_respond_by=None,
    )


def extend_deadline(deadlines: Deadlines, already_extended: bool, now: datetime) -> datetime:
    """The extended respond_by (receipt day + 90): one extension only, noticed within the first 45 days."""
    require_aware(now, "now")
    if deadlines.max_extended_respond_by is None:
        raise ExtensionNotAllowed("this request type has no extension; only know, delete and correct do")
    if already_extended:
        raise ExtensionNotAllowed("the deadline was already extended once; the statute allows one extension")
    if now > deadlines.respond_by:
        raise ExtensionNotAllowed(
            f"the extension notice was due by the original respond_by {deadlines.respond_by.isoformat()}, "
            f"now is {now.astimezone(UTC).isoformat()}"
        )
    return deadlines.max_extended_respond_by


def no_reask_until(opted_out_at: datetime) -> datetime:
    """The earliest instant the consumer may be asked to opt back in: 12 months later (§1798.135(c)(4)).

    Same Los Angeles wall time one year on; an opt-out on 29 February waits until 1 March, never 28 February,
    so the wait is never shorter than 12 months.
    """
    require_aware(opted_out_at, "opted_out_at")
    local = opted_out_at.astimezone(BUSINESS_TZ)
    next_year = _same_day_next_year(local.date())
    return datetime.combine(next_year, local.timetz().replace(tzinfo=BUSINESS_TZ)).astimezone(UTC)


def _same_day_next_year(d: date) -> date:
    if d.month == 2 and d.day == 29:
        return date(d.year + 1, 3, 1)
    return d.replace(year=d.year + 1)
