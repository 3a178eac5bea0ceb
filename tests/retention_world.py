"""Requests of every age around 24-month retention, as the events audit receives, relative to the purge's clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.consumer import Delivery
from services.common.events import Event
from tests.fields import event_of
from tests.unit.test_audit_handlers import submitted_payload

REQUESTS, DELETION, CONSENT = "privacy.requests", "privacy.deletion.results", "privacy.consent.changes"
TOPIC_OF = {"RequestSubmitted": REQUESTS, "RequestCompleted": DELETION, "ConsentChanged": CONSENT}


def months(count: float) -> timedelta:
    return timedelta(days=round(30.437 * count))


@dataclass(frozen=True)
class Request:
    """One request: received `age` months before the clock, answered `answered` months later (None: still open)."""

    name: str
    request_id: str
    subject_key: str
    age: float
    answered: float | None


OLD_CLOSED = Request("old-closed", "0a000000-0000-4000-8000-000000000001", "e1" * 32, 26, 0.5)
OLD_CLOSED_2 = Request("old-closed-2", "0f000000-0000-4000-8000-000000000002", "e2" * 32, 25.5, 0.3)
OLD_OPEN = Request("old-open", "0b000000-0000-4000-8000-000000000001", "e3" * 32, 26, None)
RECEIVED_23_MONTHS_AGO = Request("23-months", "0c000000-0000-4000-8000-000000000001", "e4" * 32, 23, 0.5)
RECENT = Request("recent", "0d000000-0000-4000-8000-000000000001", "e5" * 32, 1, 0.2)
OLD = (OLD_CLOSED, OLD_CLOSED_2, OLD_OPEN)
REQUESTS_BY_AGE = (*OLD, RECEIVED_23_MONTHS_AGO, RECENT)


def request_events(request: Request, now: datetime) -> list[Event]:
    received = now - months(request.age)
    payload = submitted_payload("delete", received, received + timedelta(days=45), corrections=False)
    submitted = event_of("RequestSubmitted", request.subject_key, "intake", request_id=request.request_id,
                         occurred_at=received, event_id=_id(request.request_id, 1), payload=payload)  # fmt: skip
    if request.answered is None:
        return [submitted]
    completed = event_of("RequestCompleted", request.subject_key, "deletion", request_id=request.request_id,
                         occurred_at=received + months(request.answered), event_id=_id(request.request_id, 2),
                         payload={"outcome": "deleted", "summary": "We deleted your account."})  # fmt: skip
    return [submitted, completed]


def signal(number: int, age: float, now: datetime) -> Event:
    """A device's GPC signal: an entry about no request."""
    at = now - months(age)
    payload = {"source": "gpc", "scope": "device", "device_key": "d4" * 32, "sale_opt_out": True,
               "share_opt_out": None, "limit_sensitive": [], "effective_at": at, "signal": "Sec-GPC: 1"}  # fmt: skip
    return event_of("ConsentChanged", "c3" * 32, "product", occurred_at=at,
                    event_id=f"5{number:07d}-0000-4000-8000-000000000000", payload=payload)  # fmt: skip


OLD_SIGNAL, RECENT_SIGNAL = (1, 26.0), (2, 0.5)


def old_events(now: datetime) -> list[Event]:
    """What happened 25 months or more before `now` (and the open request still waiting since then)."""
    events = [e for r in OLD for e in request_events(r, now)] + [signal(*OLD_SIGNAL, now)]
    return sorted(events, key=lambda e: e.occurred_at)


def recent_events(now: datetime) -> list[Event]:
    events = [e for r in (RECEIVED_23_MONTHS_AGO, RECENT) for e in request_events(r, now)]
    return sorted([*events, signal(*RECENT_SIGNAL, now)], key=lambda e: e.occurred_at)


def delivered(events: list[Event]) -> list[tuple[Event, Delivery]]:
    """Each event with a place on its topic (partition 0), in the order given."""
    offsets = {topic: itertools.count() for topic in TOPIC_OF.values()}
    return [(e, Delivery(TOPIC_OF[e.event_type], 0, next(offsets[TOPIC_OF[e.event_type]]))) for e in events]


def purged_request_ids() -> set[str]:
    return {OLD_CLOSED.request_id, OLD_CLOSED_2.request_id}


def _id(request_id: str, number: int) -> str:
    return f"{request_id[:8]}-0000-4000-9000-{number:012d}"


def kept_request_ids() -> set[str]:
    return {r.request_id for r in REQUESTS_BY_AGE} - purged_request_ids()
