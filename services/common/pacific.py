"""Dates and times as a Californian reads them: Pacific time, words, no ISO ("March 3, 2026 at 2:05 PM PST").
Shared by the access report (discovery), the privacy center and the e-mails (intake)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
# Only whole ISO-8601 dates and datetimes: a value that merely contains digits and dashes stays as written.
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def day_text(day: date) -> str:
    """March 3, 2026."""
    return f"{day:%B} {day.day}, {day.year}"


def moment_text(moment: datetime) -> str:
    """March 3, 2026 at 2:05 PM PST; a naive time is taken as UTC, as the report's records are."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(PACIFIC)
    hour = local.hour % 12 or 12
    return f"{day_text(local.date())} at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


def long_date(value: datetime | date) -> str:
    """'January 15, 2027'; an instant is first put in Pacific time (a naive one is taken as UTC)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return day_text(aware.astimezone(PACIFIC).date())
    return day_text(value)


def human_when(text: str) -> str | None:
    """A stored ISO date or datetime in words (Pacific time), or None when the text is not one."""
    candidate = text.strip()
    try:
        if ISO_DATE.match(candidate):
            return day_text(date.fromisoformat(candidate))
        if ISO_DATETIME.match(candidate):
            return moment_text(datetime.fromisoformat(candidate.replace("Z", "+00:00")))
    except ValueError:
        return None
    return None
