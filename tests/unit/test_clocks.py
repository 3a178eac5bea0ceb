"""Edge tests of the CCPA clocks: weekends, California holidays, year ends, LA midnight, DST, 45/90 days."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.closure_days import FIRST_YEAR, LAST_YEAR
from services.common.clocks import (
    CLOSURE_DAYS_TABLE,
    Deadlines,
    ExtensionNotAllowed,
    _california_holidays,
    add_business_days,
    closure_days_from_library,
    deadlines_for,
    end_of_day,
    extend_deadline,
    is_business_day,
    no_reask_until,
    receipt_day,
)
from services.common.request_types import RequestType

LA = ZoneInfo("America/Los_Angeles")
RESPONSE_TYPES = [
    RequestType.KNOW_CATEGORIES,
    RequestType.KNOW_SPECIFIC,
    RequestType.DELETE,
    RequestType.CORRECT,
]
ONE_MICROSECOND = timedelta(microseconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def la(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=LA)


def end_of_la_day_pst(d: date) -> datetime:
    """23:59:59.999999 at UTC-8, written out by hand rather than through the code under test."""
    return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8)))


def end_of_la_day_pdt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7)))


# --- request types -------------------------------------------------------------------------------------


def test_request_type_values_are_the_wire_names() -> None:
    assert [t.value for t in RequestType] == [
        "know_categories",
        "know_specific",
        "delete",
        "correct",
        "opt_out",
        "limit",
        "opt_in",
    ]


@pytest.mark.parametrize("request_type", list(RequestType))
def test_every_request_type_is_in_exactly_one_clock_family(request_type: RequestType) -> None:
    assert request_type.needs_response_clock != request_type.is_opt_out_family


def test_clock_families() -> None:
    assert {t for t in RequestType if t.needs_response_clock} == set(RESPONSE_TYPES)
    assert {t for t in RequestType if t.is_opt_out_family} == {
        RequestType.OPT_OUT,
        RequestType.LIMIT,
        RequestType.OPT_IN,
    }


# --- business days -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 30), True),  # Monday
        (date(2026, 3, 28), False),  # Saturday
        (date(2026, 3, 29), False),  # Sunday
        (date(2026, 3, 31), False),  # Cesar Chavez Day (California only)
        (date(2026, 11, 26), False),  # Thanksgiving
        (date(2026, 11, 27), False),  # Day after Thanksgiving (California state holiday)
        (date(2026, 12, 24), True),  # Christmas Eve 2026 is a working Thursday
        (date(2026, 12, 25), False),  # Christmas
        (date(2027, 1, 1), False),  # New Year's Day
        (date(2026, 7, 3), False),  # Independence Day observed (4 July is a Saturday)
        (date(2027, 6, 18), False),  # Juneteenth observed (19 June is a Saturday)
        (date(2027, 12, 24), False),  # Christmas observed (25 December 2027 is a Saturday)
        (date(2027, 12, 31), False),  # New Year 2028 observed on the Friday before
        (date(2026, 11, 11), False),  # Veterans Day
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


def test_add_zero_business_days_is_the_same_day_even_on_a_weekend() -> None:
    assert add_business_days(date(2026, 3, 28), 0) == date(2026, 3, 28)


def test_counting_starts_the_day_after() -> None:
    assert add_business_days(date(2026, 3, 23), 1) == date(2026, 3, 24)


def test_add_business_days_skips_the_weekend() -> None:
    assert add_business_days(date(2026, 3, 27), 1) == date(2026, 3, 30)


def test_add_business_days_skips_cesar_chavez_day() -> None:
    assert add_business_days(date(2026, 3, 27), 2) == date(2026, 4, 1)


def test_add_business_days_from_a_saturday() -> None:
    assert add_business_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_negative_business_days_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        add_business_days(date(2026, 3, 27), -1)


# --- day of receipt and end of day ---------------------------------------------------------------------


def test_late_night_utc_is_still_the_previous_day_in_los_angeles() -> None:
    assert receipt_day(utc(2026, 3, 4, 7, 59, 59)) == date(2026, 3, 3)
    assert receipt_day(utc(2026, 3, 4, 8, 0, 0)) == date(2026, 3, 4)


def test_late_night_utc_in_summer_uses_the_daylight_offset() -> None:
    assert receipt_day(utc(2026, 7, 1, 6, 59, 59)) == date(2026, 6, 30)
    assert receipt_day(utc(2026, 7, 1, 7, 0, 0)) == date(2026, 7, 1)


def test_receipt_in_another_offset_is_converted() -> None:
    tokyo = datetime(2026, 3, 4, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert receipt_day(tokyo) == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2026, 1, 15), utc(2026, 1, 16, 7, 59, 59, 999999)),
        (date(2026, 7, 15), utc(2026, 7, 16, 6, 59, 59, 999999)),
        (date(2026, 3, 8), utc(2026, 3, 9, 6, 59, 59, 999999)),  # spring forward happened that morning
        (date(2026, 11, 1), utc(2026, 11, 2, 7, 59, 59, 999999)),  # fall back happened that morning
    ],
)
def test_end_of_day_is_the_last_microsecond_in_los_angeles(day: date, expected_utc: datetime) -> None:
    result = end_of_day(day)
    assert result == expected_utc
    assert result.tzinfo is UTC


# --- know / delete / correct ---------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", RESPONSE_TYPES)
def test_wednesday_before_thanksgiving_2026(request_type: RequestType) -> None:
    received = la(2026, 11, 25, 10, 0)
    deadlines = deadlines_for(request_type, received.astimezone(UTC))
    # Thu 26 and Fri 27 are holidays; business days: Nov 30, Dec 1-4, Dec 7-11 -> 10th is Fri 11 Dec.
    assert deadlines.acknowledge_by == end_of_la_day_pst(date(2026, 12, 11))
    assert deadlines.respond_by == end_of_la_day_pst(date(2027, 1, 9))
    assert deadlines.max_extended_respond_by == end_of_la_day_pst(date(2027, 2, 23))


def test_across_the_2026_year_end() -> None:
    deadlines = deadlines_for(RequestType.DELETE, la(2026, 12, 23, 15, 0).astimezone(UTC))
    # Dec 24, 28-31, Jan 4-8: Christmas and New Year's Day skipped.
    assert deadlines.acknowledge_by == end_of_la_day_pst(date(2027, 1, 8))
    assert deadlines.respond_by == end_of_la_day_pst(date(2027, 2, 6))
    assert deadlines.max_extended_respond_by == end_of_la_day_pdt(date(2027, 3, 23))  # after DST start


def test_across_the_2027_year_end_with_observed_holidays() -> None:
    deadlines = deadlines_for(RequestType.KNOW_CATEGORIES, la(2027, 12, 23, 9, 0).astimezone(UTC))
    # Fri Dec 24 and Fri Dec 31 are observed holidays: Dec 27-30, Jan 3-7, Jan 10.
    assert deadlines.acknowledge_by == end_of_la_day_pst(date(2028, 1, 10))


def test_late_night_utc_receipt_counts_from_the_los_angeles_day() -> None:
    deadlines = deadlines_for(RequestType.KNOW_SPECIFIC, utc(2026, 3, 4, 6, 30))  # Tue 3 Mar, 22:30 PST
    assert deadlines.respond_by == end_of_la_day_pdt(date(2026, 4, 17))
    assert deadlines.acknowledge_by == end_of_la_day_pdt(date(2026, 3, 17))


def test_respond_by_after_the_spring_dst_change_uses_daylight_time() -> None:
    deadlines = deadlines_for(RequestType.CORRECT, la(2026, 3, 7, 12, 0).astimezone(UTC))
    assert deadlines.respond_by == utc(2026, 4, 22, 6, 59, 59, 999999)


def test_respond_by_after_the_autumn_dst_change_uses_standard_time() -> None:
    deadlines = deadlines_for(RequestType.CORRECT, la(2026, 10, 1, 12, 0).astimezone(UTC))
    assert deadlines.respond_by == utc(2026, 11, 16, 7, 59, 59, 999999)


@pytest.mark.parametrize("request_type", RESPONSE_TYPES)
def test_respond_by_is_the_last_instant_of_calendar_day_45(request_type: RequestType) -> None:
    received = la(2026, 5, 4, 0, 0)
    deadlines = deadlines_for(request_type, received.astimezone(UTC))
    last_moment = deadlines.respond_by.astimezone(LA)
    first_late_moment = (deadlines.respond_by + ONE_MICROSECOND).astimezone(LA)
    assert (last_moment.date() - date(2026, 5, 4)).days == 45
    assert (last_moment.hour, last_moment.minute, last_moment.second) == (23, 59, 59)
    assert first_late_moment == la(2026, 6, 19, 0, 0)


def test_max_extension_is_the_last_instant_of_calendar_day_90() -> None:
    deadlines = deadlines_for(RequestType.DELETE, la(2026, 5, 4, 12, 0).astimezone(UTC))
    assert deadlines.max_extended_respond_by is not None
    assert deadlines.max_extended_respond_by + ONE_MICROSECOND == la(2026, 8, 3, 0, 0)


def test_first_and_last_instant_of_a_day_give_the_same_deadlines() -> None:
    early = deadlines_for(RequestType.DELETE, la(2026, 5, 4, 0, 0).astimezone(UTC))
    late = deadlines_for(RequestType.DELETE, la(2026, 5, 4, 23, 59, 59, 999999).astimezone(UTC))
    assert (early.acknowledge_by, early.respond_by) == (late.acknowledge_by, late.respond_by)


def test_deadlines_keep_the_receipt_instant() -> None:
    received = utc(2026, 5, 4, 19, 0)
    assert deadlines_for(RequestType.DELETE, received).received_at == received


def test_due_instants_are_utc_aware() -> None:
    deadlines = deadlines_for(RequestType.KNOW_SPECIFIC, utc(2026, 5, 4, 19, 0))
    for due in (deadlines.acknowledge_by, deadlines.respond_by, deadlines.max_extended_respond_by):
        assert due is not None and due.tzinfo is UTC


def test_a_due_day_on_a_weekend_is_not_moved() -> None:
    deadlines = deadlines_for(RequestType.DELETE, la(2025, 12, 31, 12).astimezone(UTC))
    assert deadlines.respond_by == end_of_la_day_pst(date(2026, 2, 14))  # a Saturday


def test_a_due_day_on_a_holiday_is_not_moved() -> None:
    deadlines = deadlines_for(RequestType.DELETE, la(2026, 1, 2, 12).astimezone(UTC))
    assert deadlines.respond_by == end_of_la_day_pst(date(2026, 2, 16))  # Presidents' Day


# --- opt-out family ------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", [RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN])
def test_opt_out_family_has_15_business_days_no_acknowledge_no_extension(request_type: RequestType) -> None:
    deadlines = deadlines_for(request_type, la(2026, 11, 25, 10, 0).astimezone(UTC))
    assert deadlines.acknowledge_by is None
    assert deadlines.max_extended_respond_by is None
    # 10th business day is Fri 11 Dec (see the Thanksgiving test); then Dec 14-18.
    assert deadlines.respond_by == end_of_la_day_pst(date(2026, 12, 18))


def test_opt_out_across_the_year_end() -> None:
    deadlines = deadlines_for(RequestType.OPT_OUT, la(2026, 12, 23, 15, 0).astimezone(UTC))
    assert deadlines.respond_by == end_of_la_day_pst(date(2027, 1, 15))


def test_opt_out_received_on_a_saturday_counts_from_monday() -> None:
    deadlines = deadlines_for(RequestType.LIMIT, la(2026, 3, 28, 12, 0).astimezone(UTC))
    # Mon 30, (Tue 31 Cesar Chavez), Apr 1-3, Apr 6-10, Apr 13-17, Apr 20 -> 15th is Mon 20 Apr.
    assert deadlines.respond_by == end_of_la_day_pdt(date(2026, 4, 20))


# --- extension -----------------------------------------------------------------------------------------


def response_deadlines() -> Deadlines:
    return deadlines_for(RequestType.KNOW_SPECIFIC, la(2026, 5, 4, 12, 0).astimezone(UTC))


def test_extension_returns_day_90() -> None:
    deadlines = response_deadlines()
    extended = extend_deadline(deadlines, already_extended=False, now=utc(2026, 5, 20))
    assert extended == deadlines.max_extended_respond_by == end_of_la_day_pdt(date(2026, 8, 2))


def test_extension_is_allowed_up_to_the_last_instant_of_day_45() -> None:
    deadlines = response_deadlines()
    assert extend_deadline(deadlines, already_extended=False, now=deadlines.respond_by)


def test_extension_after_day_45_is_refused() -> None:
    deadlines = response_deadlines()
    with pytest.raises(ExtensionNotAllowed, match="original respond_by"):
        extend_deadline(deadlines, already_extended=False, now=deadlines.respond_by + ONE_MICROSECOND)


def test_second_extension_is_refused() -> None:
    with pytest.raises(ExtensionNotAllowed, match="already extended once"):
        extend_deadline(response_deadlines(), already_extended=True, now=utc(2026, 5, 20))


@pytest.mark.parametrize("request_type", [RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN])
def test_opt_out_family_cannot_be_extended(request_type: RequestType) -> None:
    deadlines = deadlines_for(request_type, utc(2026, 5, 4, 19))
    with pytest.raises(ExtensionNotAllowed, match="no extension"):
        extend_deadline(deadlines, already_extended=False, now=utc(2026, 5, 5))


def test_extension_rejects_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        extend_deadline(response_deadlines(), already_extended=False, now=datetime(2026, 5, 20))


# --- no re-asking for 12 months ------------------------------------------------------------------------


def test_no_reask_until_is_twelve_months_later_at_the_same_wall_time() -> None:
    assert no_reask_until(utc(2026, 6, 15, 17, 0)) == utc(2027, 6, 15, 17, 0)


def test_no_reask_after_a_leap_day_opt_out_waits_until_1_march() -> None:
    opted_out = la(2028, 2, 29, 12, 0).astimezone(UTC)
    assert no_reask_until(opted_out) == la(2029, 3, 1, 12, 0)


def test_no_reask_uses_the_los_angeles_date_not_the_utc_date() -> None:
    # 29 Feb 05:00 UTC is still 28 Feb in Los Angeles, so the leap-day rule does not apply.
    assert no_reask_until(utc(2028, 2, 29, 5, 0)) == la(2029, 2, 28, 21, 0)


def test_no_reask_from_28_february_of_a_leap_year() -> None:
    assert no_reask_until(la(2028, 2, 28, 9, 0).astimezone(UTC)) == la(2029, 2, 28, 9, 0)


def test_no_reask_on_a_wall_time_that_does_not_exist_next_year_is_never_early() -> None:
    opted_out = la(2026, 3, 14, 2, 30).astimezone(UTC)  # 14 Mar 2027 02:30 falls in the DST gap
    result = no_reask_until(opted_out)
    assert result - opted_out >= timedelta(days=365)
    assert result.tzinfo is UTC


# --- naive datetimes -----------------------------------------------------------------------------------


def test_deadlines_for_rejects_a_naive_received_at() -> None:
    with pytest.raises(ValueError, match="received_at must be a timezone-aware"):
        deadlines_for(RequestType.DELETE, datetime(2026, 5, 4, 12, 0))


def test_no_reask_until_rejects_a_naive_opted_out_at() -> None:
    with pytest.raises(ValueError, match="opted_out_at must be a timezone-aware"):
        no_reask_until(datetime(2026, 5, 4, 12, 0))


@pytest.mark.parametrize(
    "observance",
    [date(2028, 2, 15), date(2027, 10, 29)],
    ids=["susan-b-anthony-day-tuesday", "diwali-friday"],
)
def test_days_of_observance_are_business_days(observance: date) -> None:
    # Counting a day businesses do not close would push deadlines later: the unsafe direction.
    assert is_business_day(observance)


def test_the_closure_days_table_is_what_the_installed_holidays_library_says() -> None:
    """The table spares each service the library's calendars (8 MiB); after a library upgrade this fails until
    `python -m devtools.closure_days` is run and the difference reviewed."""
    table = json.loads(CLOSURE_DAYS_TABLE.read_text(encoding="utf-8"))
    assert table["years"] == [FIRST_YEAR, LAST_YEAR]
    from_library = sorted(day.isoformat() for year in range(FIRST_YEAR, LAST_YEAR + 1)
                          for day in closure_days_from_library(year))  # fmt: skip
    assert table["days"] == from_library


def test_a_year_outside_the_table_is_asked_of_the_library() -> None:
    year = LAST_YEAR + 5
    assert _california_holidays(year) == closure_days_from_library(year)
    assert date(year, 12, 25) in _california_holidays(year)


def test_the_clocks_run_without_importing_the_holidays_library() -> None:
    script = ("import sys; from datetime import date; from services.common.clocks import is_business_day as open_; "
              "print(open_(date(2026, 12, 25)), open_(date(2026, 12, 28)), 'holidays' in sys.modules)")  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "True", "False"]
