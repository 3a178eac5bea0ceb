"""Consent look-up for support staff: an identifier, HMAC'd on arrival into the subject key, then the person's
current state (optout) and its history (audit). The identifier is never stored, logged or shown again; each look-up
is on the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from services.common.identity import InvalidIdentifier
from services.console.actions import Acted, Action, Result
from services.console.clients.audit import ConsentChange
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.clients.optout import ConsentNow
from services.console.subjects import KINDS, Subject, problem_of, subject_of
from services.console.web import problems, words
from services.console.web.deps import Viewer
from services.console.web.templating import render

router = APIRouter()


@dataclass(frozen=True)
class Change:
    """One consent change as the history table shows it."""

    when: Any  # datetime; the template puts it in Pacific time
    source: str
    producer: str
    what: str
    request_id: str | None

    @classmethod
    def of(cls, change: ConsentChange) -> Change:
        return cls(change.occurred_at, words.source(change.details.get("source")), change.producer,
                   words.consent_change(change.details), change.request_id)  # fmt: skip


@router.get("/consent", response_class=HTMLResponse)
def consent_form(request: Request, me: Viewer) -> HTMLResponse:
    """The look-up form (any role)."""
    return _form(request, me, None, None)


@router.post("/consent", response_class=HTMLResponse)
def look_up(request: Request, me: Viewer, kind: Annotated[str, Form()] = "",
            identifier: Annotated[str, Form()] = "") -> HTMLResponse:  # fmt: skip
    """One look-up: the state and history of the identifier's subject key, the look-up put on the record."""
    console = request.app.state.console
    try:
        subject = subject_of(console.settings.subject_key_bytes(), kind, identifier)
    except InvalidIdentifier as invalid:
        return _form(request, me, problem_of(invalid), kind, status_code=422)
    del identifier  # from here on, only the subject key
    state, state_problem = _state(console, subject)
    history, history_problem = _history(console, subject)
    failed = [text for text in (state_problem, history_problem) if text]
    console.record.record(me, Acted(Action.CONSENT_LOOKED_UP, Result.FAILED if failed else Result.DONE,
                                    subject_key=subject.subject_key,
                                    detail="; ".join(failed) if failed else None))  # fmt: skip
    return render(request, "consent_result.html.j2", me=me, nav="consent", subject=subject, state=state,
                  state_problem=state_problem, history=history, history_problem=history_problem, kinds=KINDS,
                  words=words, chosen=subject.kind.value)  # fmt: skip


def _form(request: Request, me: Any, error: str | None, chosen: str | None, status_code: int = 200) -> HTMLResponse:
    return render(request, "consent.html.j2", status_code=status_code, me=me, nav="consent", error=error,
                  kinds=KINDS, chosen=chosen if chosen in {k.value for k in KINDS} else "email")  # fmt: skip


def _state(console: Any, subject: Subject) -> tuple[ConsentNow | None, str | None]:
    try:
        return console.services.optout.consent(subject.subject_key), None
    except (ServiceUnavailable, ServiceRefused) as problem:
        return None, problems.told(problem)


def _history(console: Any, subject: Subject) -> tuple[list[Change] | None, str | None]:
    """The changes, newest first ([] when none is recorded), or the problem."""
    try:
        found = console.services.audit.consent_history(subject.subject_key)
    except (ServiceUnavailable, ServiceRefused) as problem:
        return None, problems.told(problem)
    return [Change.of(change) for change in reversed(found or [])], None
