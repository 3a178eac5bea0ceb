"""§7102 figures: families, Los Angeles year boundaries, compliance and denial counts, median and mean days, and
the three ways of counting signal-only opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.audit.metrics7102 import (
    SIGNAL_LINE,
    RequestFacts,
    SignalOptOut,
    SignalOptOuts,
    days_to_respond,
    figures,
    mean,
    median,
)

NOON_LA = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles (PST)


def answered(request_type: str, days: int, nature: str = "complied", code: str | None = None) -> RequestFacts:
    return RequestFacts(request_type, NOON_LA, NOON_LA + timedelta(days=days), nature, code)


def lines(table: dict[str, object]) -> dict[str, dict[str, object]]:
    return {line["request_type"]: line for line in table["lines"]}  # type: ignore[attr-defined, index]


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    assert median([1, 10, 2, 3]) == 2.5
    assert median([4, 1, 7]) == 4.0
    assert mean([1, 2, 2]) == 1.67
    assert median([]) is None and mean([]) is None


def test_a_request_received_early_on_new_years_day_in_utc_belongs_to_the_previous_year() -> None:
    late_december_in_la = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)  # 2025-12-31 23:30 in Los Angeles
    new_year_in_la = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Los Angeles
    requests = [RequestFacts("delete", instant, None, None, None) for instant in (late_december_in_la, new_year_in_la)]
    assert lines(figures(2025, requests, [], SignalOptOuts.SEPARATE))["delete"]["received"] == 1
    assert lines(figures(2026, requests, [], SignalOptOuts.SEPARATE))["delete"]["received"] == 1


def test_days_to_respond_count_los_angeles_calendar_days() -> None:
    evening = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)  # 23:00 on 3 March in Los Angeles
    next_morning = datetime(2025, 3, 4, 17, 0, tzinfo=UTC)  # 09:00 on 4 March: ten hours later, one day
    assert days_to_respond(evening, next_morning) == 1
    assert days_to_respond(NOON_LA, NOON_LA + timedelta(hours=3)) == 0


def test_both_kinds_of_know_are_one_line_and_opt_in_is_not_counted() -> None:
    requests = [answered("know_categories", 2), answered("know_specific", 5), answered("opt_in", 1)]
    table = figures(2025, requests, [], SignalOptOuts.SEPARATE)
    know = lines(table)["know"]
    assert know["received"] == 2 and know["median_days_to_respond"] == 3.5 and know["mean_days_to_respond"] == 3.5
    assert [line["request_type"] for line in table["lines"]] == ["know", "delete", "correct", "opt_out", "limit",
                                                                  SIGNAL_LINE]  # fmt: skip
    assert sum(line["received"] for line in table["lines"]) == 2


def test_complied_in_part_counts_as_complied_and_denials_are_broken_down_by_reason() -> None:
    requests = [
        answered("delete", 10, "complied"),
        answered("delete", 20, "complied_in_part"),
        answered("delete", 30, "denied_in_part", "exempt"),
        answered("delete", 1, "denied", "not_verified"),
        answered("delete", 1, "denied", "not_verified"),
        answered("delete", 2, "denied", None),
        RequestFacts("delete", NOON_LA, None, None, None),
    ]
    delete = lines(figures(2025, requests, [], SignalOptOuts.SEPARATE))["delete"]
    assert delete["received"] == 7 and delete["pending"] == 1
    assert delete["complied_in_whole_or_in_part"] == 3 and delete["denied"] == 3
    assert delete["denial_reasons"] == {"not_verified": 2, "unspecified": 1}
    assert delete["median_days_to_respond"] == 6.0  # 1 1 2 10 20 30: (2 + 10) / 2
    assert delete["mean_days_to_respond"] == 10.67


@pytest.mark.parametrize(
    ("counting", "opt_out_received", "signal_line"),
    [(SignalOptOuts.SEPARATE, 1, True), (SignalOptOuts.INCLUDE, 3, False), (SignalOptOuts.EXCLUDE, 1, False)],
)
def test_signal_only_opt_outs_are_counted_as_the_setting_says_and_the_output_says_so(
    counting: SignalOptOuts, opt_out_received: int, signal_line: bool
) -> None:
    signals = [SignalOptOut(NOON_LA, NOON_LA), SignalOptOut(NOON_LA + timedelta(days=1), NOON_LA + timedelta(days=1))]
    table = figures(2025, [answered("opt_out", 4)], signals, counting)
    assert lines(table)["opt_out"]["received"] == opt_out_received
    assert (SIGNAL_LINE in lines(table)) is signal_line
    assert table["signal_opt_outs"]["counting"] == counting.value and table["signal_opt_outs"]["count"] == 2
    assert "GPC" in table["signal_opt_outs"]["said"]
    if signal_line:
        assert lines(table)[SIGNAL_LINE]["complied_in_whole_or_in_part"] == 2
        assert lines(table)[SIGNAL_LINE]["median_days_to_respond"] == 0.0
