"""The §7102 yearly figures, computed from §7101 records: per request type family, received, complied with in whole
or in part, denied (by reason), and the median and mean days to respond. Years are Los Angeles calendar years."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.common.clocks import receipt_day

# §7102(a)(1)(A)-(E): know (categories and specific pieces), delete, correct, opt-out, limit; opt-in is none of them.
FAMILY_OF: Mapping[str, str] = {
    "know_categories": "know",
    "know_specific": "know",
    "delete": "delete",
    "correct": "correct",
    "opt_out": "opt_out",
    "limit": "limit",
}
FAMILIES = ("know", "delete", "correct", "opt_out", "limit")
SIGNAL_LINE = "opt_out_signal"
COMPLIED = frozenset({"complied", "complied_in_part", "denied_in_part"})  # a denial in part is compliance in part
DENIED = "denied"
UNSPECIFIED_REASON = "unspecified"
DAYS_TO_RESPOND = (
    "calendar days from the Los Angeles date of receipt to the Los Angeles date of the response, whole days per "
    "request; median and mean over the year's requests that were answered (complied with or denied), rounded to "
    "two decimals; the median of an even count is the mean of the two middle values"
)


class SignalOptOuts(StrEnum):
    """How opt-outs by a preference signal alone (GPC with no request) enter the figures."""

    SEPARATE = "separate"  # their own line, beside the opt-out requests
    INCLUDE = "include"  # counted in the opt_out line
    EXCLUDE = "exclude"  # not counted (the count is still said)


COUNTING_SAID = {
    SignalOptOuts.SEPARATE: "opt-out preference signals with no request (GPC) are counted on their own line, "
    f"{SIGNAL_LINE}, not in opt_out",
    SignalOptOuts.INCLUDE: "opt-out preference signals with no request (GPC) are counted in opt_out",
    SignalOptOuts.EXCLUDE: "opt-out preference signals with no request (GPC) are not counted in any line",
}


@dataclass(frozen=True)
class RequestFacts:
    """What the figures need of one §7101 record."""

    request_type: str
    received_at: datetime
    responded_at: datetime | None
    response_nature: str | None
    denial_code: str | None


@dataclass(frozen=True)
class SignalOptOut:
    """An opt-out by preference signal alone: when it arrived and when it took effect."""

    received_at: datetime
    effective_at: datetime


def days_to_respond(received_at: datetime, responded_at: datetime) -> int:
    """Whole calendar days between the Los Angeles dates of receipt and response (same day: 0)."""
    return (receipt_day(responded_at) - receipt_day(received_at)).days


def median(values: list[int]) -> float | None:
    return round(float(statistics.median(values)), 2) if values else None


def mean(values: list[int]) -> float | None:
    return round(float(statistics.fmean(values)), 2) if values else None


def line(request_type: str, requests: Iterable[RequestFacts]) -> dict[str, Any]:
    """One line of the table: the counts and the days to respond of one family's requests."""
    requests = list(requests)
    answered = [r for r in requests if r.responded_at is not None and r.response_nature is not None]
    days = [days_to_respond(r.received_at, r.responded_at) for r in answered if r.responded_at]
    reasons = Counter(r.denial_code or UNSPECIFIED_REASON for r in answered if r.response_nature == DENIED)
    return {
        "request_type": request_type,
        "received": len(requests),
        "complied_in_whole_or_in_part": sum(1 for r in answered if r.response_nature in COMPLIED),
        "denied": sum(reasons.values()),
        "denial_reasons": dict(sorted(reasons.items())),
        "pending": len(requests) - len(answered),
        "median_days_to_respond": median(days),
        "mean_days_to_respond": mean(days),
    }


def as_requests(signals: Iterable[SignalOptOut]) -> list[RequestFacts]:
    """Signal-only opt-outs as opt-out requests complied with when they took effect."""
    return [RequestFacts("opt_out", s.received_at, max(s.effective_at, s.received_at), "complied", None)
            for s in signals]  # fmt: skip


def figures(
    year: int, requests: Iterable[RequestFacts], signals: Iterable[SignalOptOut], counting: SignalOptOuts
) -> dict[str, Any]:
    """The §7102 table of one Los Angeles calendar year, saying how it counted what it counted."""
    of_year = [r for r in requests if receipt_day(r.received_at).year == year and r.request_type in FAMILY_OF]
    signal_requests = as_requests(s for s in signals if receipt_day(s.received_at).year == year)
    by_family: dict[str, list[RequestFacts]] = {family: [] for family in FAMILIES}
    for request in of_year:
        by_family[FAMILY_OF[request.request_type]].append(request)
    if counting is SignalOptOuts.INCLUDE:
        by_family["opt_out"] += signal_requests
    lines = [line(family, by_family[family]) for family in FAMILIES]
    if counting is SignalOptOuts.SEPARATE:
        lines.append(line(SIGNAL_LINE, signal_requests))
    return {
        "year": year,
        "calendar": "Los Angeles calendar year (America/Los_Angeles) of the date of receipt",
        "days_to_respond": DAYS_TO_RESPOND,
        "signal_opt_outs": {"counting": counting.value, "count": len(signal_requests), "said": COUNTING_SAID[counting]},
        "not_counted": "opt-in requests (no §7102 category)",
        "lines": lines,
    }
