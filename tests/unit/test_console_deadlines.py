"""The request page's clocks: acknowledge and respond with their states, the watch's DeadlineMissed counting as
overdue before the console's own clock says so, and when the one extension is offered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.clients.intake import Answer, RequestStatus, Review
from services.console.deadlines import clocks, may_extend

RECEIVED = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # a Monday, 10 AM PST
DUE = datetime(2026, 4, 17, 6, 59, 59, 999999, tzinfo=UTC)  # April 16 (received + 45), end of the LA day


def status(**changes: Any) -> RequestStatus:
    base = RequestStatus(request_id="r", request_type="delete", channel="api", status="acknowledged",
                         received_at=RECEIVED, acknowledged_at=RECEIVED, due_at=DUE, extended=False, extended_at=None,
                         extension_reason=None, max_respond_by=DUE + timedelta(days=45), denial=None, answer=None,
                         report=None, review=None)  # fmt: skip
    return replace(base, **changes)


def missed(clock: str, due: datetime) -> dict[str, Any]:
    return {"event_type": "DeadlineMissed", "details": {"clock": clock, "due_at": due.isoformat()}}


def test_an_open_request_counts_its_days_left() -> None:
    acknowledge, respond = clocks(status(), [], None, RECEIVED + timedelta(days=5))
    assert (acknowledge.name, acknowledge.state, acknowledge.words) == ("Acknowledge", "met", "done in time")
    assert (respond.name, respond.state, respond.days_left) == ("Respond", "on_time", 40)
    assert respond.words == "40 days left"


def test_due_soon_then_overdue_by_the_clock() -> None:
    assert clocks(status(), [], None, DUE - timedelta(days=3))[1].state == "due_soon"
    assert clocks(status(), [], None, DUE + timedelta(seconds=1))[1].state == "overdue"


def test_the_watchs_missed_deadline_makes_it_overdue_early() -> None:
    respond = clocks(status(), [missed("respond", DUE)], None, RECEIVED + timedelta(days=1))[1]
    assert respond.state == "overdue" and respond.words == "overdue"


def test_a_missed_old_date_does_not_make_an_extended_request_overdue() -> None:
    extended = status(extended=True, due_at=DUE + timedelta(days=45))
    assert clocks(extended, [missed("respond", DUE)], None, RECEIVED + timedelta(days=50))[1].state == "on_time"


def test_answered_late_stays_late() -> None:
    late = status(answer=Answer("complied", "deleted", DUE + timedelta(days=1)))
    assert clocks(late, [], None, DUE + timedelta(days=9))[1].state == "met_late"


def test_a_denial_is_answered_at_the_records_date() -> None:
    denied = status(denial={"code": "x", "basis": "y"})
    respond = clocks(denied, [], {"date_of_response": RECEIVED.isoformat()}, DUE + timedelta(days=9))[1]
    assert respond.state == "met" and respond.done_at == RECEIVED


def test_opt_out_types_have_no_acknowledgement() -> None:
    assert [clock.name for clock in clocks(status(request_type="opt_out", max_respond_by=None), [], None,
                                           RECEIVED)] == ["Respond"]  # fmt: skip


def test_the_extension_is_offered_once_before_the_answer_and_the_due_date() -> None:
    assert may_extend(status(), RECEIVED)
    assert not may_extend(status(extended=True), RECEIVED)
    assert not may_extend(status(answer=Answer("complied", "done", RECEIVED)), RECEIVED)
    assert not may_extend(status(), DUE + timedelta(seconds=1))
    assert not may_extend(status(request_type="opt_out", max_respond_by=None), RECEIVED)


def test_a_held_answer_is_no_answer_yet() -> None:
    held = status(answer=Answer("complied", "report ready", RECEIVED), review=Review("pending", None, None, True))
    assert held.held and not held.answered and may_extend(held, RECEIVED)
    assert clocks(held, [], None, DUE + timedelta(days=1))[1].state == "overdue"
    approved = replace(held, review=Review("approved", RECEIVED, None, True))
    assert approved.answered and clocks(approved, [], None, DUE + timedelta(days=1))[1].state == "met"
