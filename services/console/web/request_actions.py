"""What an operator does on the request page, each a POST form (CSRF token, operator role, checked on the server):
extend, approve or deny a held answer, place or release a legal hold, confirm a manual recipient, send an
instruction or a notice again. Every outcome is on the record, then the browser goes back to the page with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from services.console.accounts.roles import Operator
from services.console.actions import Acted, Action, Result
from services.console.bootstrap import Console
from services.console.clients import deletion, intake
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.web import flash
from services.console.web.deps import Acting
from services.console.web.request_view import checked_part_id, checked_request_id, subject_key_of

router = APIRouter()
Text = Annotated[str, Form()]  # bounded below, so a long text gets a sentence, not a 422
EXTEND_REASON = (10, 1000)  # intake's bounds: the reason is told to the consumer
REASON = (5, 500)


def _reason(text: str, bounds: tuple[int, int]) -> str | None:
    """The text on one line, or None when it is outside the bounds (the page then says what is needed)."""
    trimmed = " ".join(text.split())
    return trimmed if bounds[0] <= len(trimmed) <= bounds[1] else None


def _said(text: str) -> str | None:
    """What the person typed, on one line and clipped for the record; None when nothing."""
    return " ".join(text.split())[:500] or None


def perform(request: Request, me: Operator, acted: Acted, call: Callable[[], object], done: str) -> RedirectResponse:
    """Call the service, put the outcome on the record (done, refused with the service's detail, or failed) and go
    back to the request page saying what happened."""
    console: Console = request.app.state.console
    assert acted.request_id is not None
    acted = Acted(acted.action, acted.result, acted.request_id, subject_key_of(console.services, acted.request_id),
                  acted.reason, acted.target)  # fmt: skip
    page = f"/requests/{acted.request_id}"
    try:
        call()
    except ServiceRefused as refused:
        console.record.record(me, _ended(acted, Result.REFUSED, refused.detail))
        return flash.back_to(request, page, flash.Flash(False, f"Not done: {refused.detail}"))
    except ServiceUnavailable as down:
        console.record.record(me, _ended(acted, Result.FAILED, f"{down.service} unavailable ({down.why})"))
        return flash.back_to(request, page, flash.Flash(False, f"The {down.service} service could not be reached; "
                                                               "nothing was changed, try again."))  # fmt: skip
    console.record.record(me, acted)
    return flash.back_to(request, page, flash.Flash(True, done))


def refuse(request: Request, me: Operator, acted: Acted, why: str) -> RedirectResponse:
    """Refused by the console itself (a reason missing or too long): on the record too, and nothing is called."""
    console: Console = request.app.state.console
    assert acted.request_id is not None
    console.record.record(me, _ended(acted, Result.REFUSED, why))
    return flash.back_to(request, f"/requests/{acted.request_id}", flash.Flash(False, f"Not done: {why}"))


def _ended(acted: Acted, result: Result, detail: str) -> Acted:
    return Acted(acted.action, result, acted.request_id, acted.subject_key, acted.reason, acted.target, detail)


def _services(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _needs(bounds: tuple[int, int], what: str) -> str:
    return f"{what} of {bounds[0]} to {bounds[1]} characters is needed"


@router.post("/requests/{request_id}/extend")
def extend(request: Request, request_id: str, me: Acting, reason: Text = "") -> RedirectResponse:
    """Take the one extension (to 90 days), with the reason told to the consumer."""
    request_id, services = checked_request_id(request_id), _services(request).services
    given = _reason(reason, EXTEND_REASON)
    acted = Acted(Action.EXTENDED, Result.DONE, request_id=request_id, reason=given or _said(reason))
    if given is None:
        return refuse(request, me, acted, _needs(EXTEND_REASON, "a reason for the consumer"))
    return perform(request, me, acted, lambda: intake.extend(services.intake, request_id, given),
                   "Extended to 90 days; the consumer is told why.")  # fmt: skip


@router.post("/requests/{request_id}/review")
def review(request: Request, request_id: str, me: Acting, verdict: Text = "", reason: Text = "") -> RedirectResponse:
    """Approve the held answer (it is sent then) or deny it (with the reason told to the consumer)."""
    request_id, services = checked_request_id(request_id), _services(request).services
    if verdict not in ("approved", "denied"):
        return refuse(request, me, Acted(Action.ANSWER_APPROVED, Result.REFUSED, request_id=request_id),
                      "choose approve or deny")  # fmt: skip
    action = Action.ANSWER_APPROVED if verdict == "approved" else Action.ANSWER_DENIED
    given = _reason(reason, REASON) if reason.strip() else None
    acted = Acted(action, Result.DONE, request_id=request_id, reason=given or _said(reason))
    if verdict == "denied" and given is None:
        return refuse(request, me, acted, _needs(REASON, "a reason for the consumer"))
    done = "Approved: the answer is being sent." if verdict == "approved" else "Denied: the consumer is told why."
    return perform(request, me, acted, lambda: intake.review(services.intake, request_id, verdict, given, me.id), done)


@router.post("/requests/{request_id}/holds")
def place_hold(request: Request, request_id: str, me: Acting, reason: Text = "") -> RedirectResponse:
    """A legal hold on the request's subject: deletion keeps their records while it stands."""
    request_id, services = checked_request_id(request_id), _services(request).services
    given = _reason(reason, REASON)
    acted = Acted(Action.HOLD_PLACED, Result.DONE, request_id=request_id, reason=given or _said(reason))
    if given is None:
        return refuse(request, me, acted, _needs(REASON, "a reason"))
    subject_key = subject_key_of(services, request_id)
    if subject_key is None:
        return refuse(request, me, acted, "the request's subject is not known to audit yet; try again shortly")
    return perform(request, me, acted, lambda: deletion.place_hold(services.deletion, subject_key, given, me.id),
                   "Legal hold placed: deletion keeps this person's records while it stands.")  # fmt: skip


@router.post("/requests/{request_id}/holds/{hold_id}/release")
def release_hold(request: Request, request_id: str, hold_id: str, me: Acting, reason: Text = "") -> RedirectResponse:
    """Release a legal hold on the request's subject; later deletions proceed."""
    request_id, hold_id = checked_request_id(request_id), checked_part_id(hold_id)
    services = _services(request).services
    acted = Acted(Action.HOLD_RELEASED, Result.DONE, request_id=request_id, target=hold_id,
                  reason=_said(reason))  # fmt: skip
    return perform(request, me, acted, lambda: deletion.release_hold(services.deletion, hold_id),
                   "Legal hold released.")  # fmt: skip


@router.post("/requests/{request_id}/recipients/{instruction_id}/confirm")
def confirm_recipient(request: Request, request_id: str, instruction_id: str, me: Acting, note: Text = "",
                      confirmation_id: Text = "") -> RedirectResponse:  # fmt: skip
    """Record a manual recipient's confirmation that it deleted (or corrected), with the operator's note."""
    request_id, instruction_id = checked_request_id(request_id), checked_part_id(instruction_id)
    services = _services(request).services
    given, reference = _reason(note, REASON), " ".join(confirmation_id.split())[:200] or None
    acted = Acted(Action.RECIPIENT_CONFIRMED, Result.DONE, request_id=request_id, reason=given or _said(note),
                  target=_recipient_name(request, request_id, instruction_id))  # fmt: skip
    if given is None:
        return refuse(request, me, acted, _needs(REASON, "a note"))
    return perform(request, me, acted,
                   lambda: deletion.confirm(services.deletion, request_id, instruction_id, given, reference, me.id),
                   f"Confirmation recorded for {acted.target}.")  # fmt: skip


@router.post("/requests/{request_id}/recipients/{instruction_id}/resend")
def resend_instruction(request: Request, request_id: str, instruction_id: str, me: Acting,
                       reason: Text = "") -> RedirectResponse:  # fmt: skip
    """Send a recipient's instruction again."""
    request_id, instruction_id = checked_request_id(request_id), checked_part_id(instruction_id)
    services = _services(request).services
    given = _reason(reason, REASON)
    acted = Acted(Action.INSTRUCTION_RESENT, Result.DONE, request_id=request_id, reason=given or _said(reason),
                  target=_recipient_name(request, request_id, instruction_id))  # fmt: skip
    if given is None:
        return refuse(request, me, acted, _needs(REASON, "a reason"))
    return perform(request, me, acted,
                   lambda: deletion.resend(services.deletion, request_id, instruction_id, given),
                   f"The instruction to {acted.target} is being sent again.")  # fmt: skip


@router.post("/requests/{request_id}/notices/{notice_id}/resend")
def resend_notice(request: Request, request_id: str, notice_id: str, me: Acting, reason: Text = "") -> RedirectResponse:
    """Send one of the consumer's notices again."""
    request_id, notice_id = checked_request_id(request_id), checked_part_id(notice_id)
    services = _services(request).services
    given = _reason(reason, REASON)
    acted = Acted(Action.NOTICE_RESENT, Result.DONE, request_id=request_id, reason=given or _said(reason),
                  target=notice_id)  # fmt: skip
    if given is None:
        return refuse(request, me, acted, _needs(REASON, "a reason"))
    return perform(request, me, acted, lambda: intake.resend_notice(services.intake, request_id, notice_id, given),
                   "The notice is being sent again.")  # fmt: skip


def _recipient_name(request: Request, request_id: str, instruction_id: str) -> str:
    """The recipient's name for the record (the instruction's id when deletion cannot say)."""
    try:
        found = deletion.recipients(_services(request).services.deletion, request_id)
    except (ServiceRefused, ServiceUnavailable):
        return instruction_id
    return next((item.recipient for item in found if item.instruction_id == instruction_id), instruction_id)
