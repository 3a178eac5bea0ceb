"""What the request page shows, gathered from the services: intake's status and notices, audit's timeline, deletion's
recipients and legal holds. Each part that cannot be had says so on the page instead of failing the whole page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from fastapi import HTTPException
from starlette import status as http

from services.common.http_guard import UUID_PATTERN
from services.console.accounts.store import Accounts
from services.console.clients import deletion, intake
from services.console.clients.base import ServiceRefused, ServiceUnavailable
from services.console.clients.requests import Timeline, timeline
from services.console.clients.services import Services
from services.console.deadlines import Clock, clocks, may_extend
from services.console.story import Line, story

ERASING_TYPES = ("delete", "correct")
T = TypeVar("T")
PART_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")  # an instruction, hold or notice id: no path separators


def checked_request_id(request_id: str) -> str:
    """The id when it is a request id (a UUID, as intake gives them); a 404 page otherwise."""
    if not re.fullmatch(UUID_PATTERN, request_id):
        raise HTTPException(http.HTTP_404_NOT_FOUND)
    return request_id


def checked_part_id(part_id: str) -> str:
    if not PART_ID.fullmatch(part_id):
        raise HTTPException(http.HTTP_404_NOT_FOUND)
    return part_id


@dataclass
class RequestView:
    status: intake.RequestStatus
    timeline: Timeline | None
    story: list[Line]
    clocks: list[Clock]
    may_extend: bool
    recipients: list[deletion.Recipient] | None
    notices: list[intake.Notice] | None
    holds: list[deletion.Hold] | None
    unavailable: list[str] = field(default_factory=list)  # the parts that could not be had, in words

    @property
    def subject_key(self) -> str | None:
        return self.timeline.subject_key if self.timeline else None

    @property
    def record(self) -> dict[str, object] | None:
        return self.timeline.record if self.timeline else None


def subject_key_of(services: Services, request_id: str) -> str | None:
    """The request's subject key from audit (for the record of an action), or None when audit cannot say."""
    try:
        found = timeline(services.audit, request_id)
    except (ServiceRefused, ServiceUnavailable):
        return None
    return found.subject_key if found else None


def gather(services: Services, accounts: Accounts, request_id: str, now: datetime) -> RequestView:
    """The page's parts; a 404 when intake knows no such request, a 503 page when intake cannot be reached."""
    try:
        current = intake.status(services.intake, request_id)
    except ServiceRefused as refused:
        code = http.HTTP_404_NOT_FOUND if refused.status_code == 404 else http.HTTP_502_BAD_GATEWAY
        raise HTTPException(code) from None
    except ServiceUnavailable:
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE) from None
    missing: list[str] = []
    found = _part(missing, "the timeline (audit)", lambda: timeline(services.audit, request_id))
    entries = found.entries if found else []
    recipients = (_part(missing, "the recipients (deletion)", lambda: _recipients(services, request_id))
                  if current.request_type in ERASING_TYPES else [])  # fmt: skip
    notices = _part(missing, "the notices (intake)", lambda: intake.notices(services.intake, request_id))
    subject_key = found.subject_key if found else None
    holds = (_part(missing, "the legal holds (deletion)", lambda: deletion.holds(services.deletion, subject_key))
             if subject_key else [])  # fmt: skip
    return RequestView(current, found, story(entries, _names(accounts, entries)),
                       clocks(current, entries, found.record if found else None, now), may_extend(current, now),
                       recipients, notices, holds, missing)  # fmt: skip


def _recipients(services: Services, request_id: str) -> list[deletion.Recipient]:
    try:
        return deletion.recipients(services.deletion, request_id)
    except ServiceRefused as refused:
        if refused.status_code == 404:
            return []  # deletion has not started on it yet
        raise


def _part(missing: list[str], name: str, fetch: Callable[[], T]) -> T | None:
    try:
        return fetch()
    except (ServiceRefused, ServiceUnavailable):
        missing.append(name)
        return None


def _names(accounts: Accounts, entries: list[dict[str, object]]) -> dict[str, str]:
    """The display names of the people the entries name (actors, reviewers), from the console's accounts."""
    ids = set()
    for entry in entries:
        details = entry.get("details")
        if isinstance(details, dict):
            ids |= {str(details[key]) for key in ("actor_id", "reviewer") if details.get(key)}
    names = {}
    for account_id in ids:
        account = accounts.by_id(account_id)
        if account is not None:
            names[account_id] = account.display_name
    return names
