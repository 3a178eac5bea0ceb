"""What a complete audit timeline holds for each kind of request the chaos run sends, and what counts as a
duplicate on it. Pure: the run feeds it the entries it read from audit's timeline API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.common.event_types import EventType

ANSWERS = frozenset({EventType.REQUEST_COMPLETED, EventType.REQUEST_DENIED})
# Events a request has at most once: a second one is an effect (an answer, a report) produced twice.
ONCE = (
    EventType.REQUEST_SUBMITTED,
    EventType.DISCOVERY_STARTED,
    EventType.DISCOVERY_COMPLETED,
    EventType.REPORT_READY,
    EventType.DELETION_COMPLETED,
)
PROPAGATED = (EventType.OPT_OUT_STATE, EventType.OPT_OUT_APPLIED, EventType.OPT_OUT_ACKNOWLEDGED)
DISCOVERED = (
    EventType.REQUEST_SUBMITTED,
    EventType.DISCOVERY_STARTED,
    EventType.STORE_SEARCHED,
    EventType.DISCOVERY_COMPLETED,
)


class Kind(StrEnum):
    """The kinds of request in the mix, each with its own expected timeline."""

    KNOW = "know"  # know_specific or know_categories from a verifiable customer
    DELETE = "delete"
    CORRECT = "correct"
    DENIED = "denied"  # know or delete from someone intake cannot verify
    OPT_OUT = "opt_out"
    OPT_OUT_GPC = "opt_out_gpc"  # the same, from a browser sending Sec-GPC: 1
    LIMIT = "limit"
    OPT_IN = "opt_in"


EXPECTED: Mapping[Kind, tuple[EventType, ...]] = {
    Kind.KNOW: (*DISCOVERED, EventType.REPORT_READY, EventType.REQUEST_COMPLETED),
    Kind.DELETE: (*DISCOVERED, EventType.STORE_ERASED, EventType.DELETION_VERIFIED, EventType.PROVIDER_INSTRUCTED,
                  EventType.DELETION_COMPLETED, EventType.REQUEST_COMPLETED),
    Kind.CORRECT: (EventType.REQUEST_SUBMITTED, EventType.DISCOVERY_STARTED, EventType.DISCOVERY_COMPLETED,
                   EventType.STORE_ERASED, EventType.DELETION_VERIFIED, EventType.DELETION_COMPLETED,
                   EventType.REQUEST_COMPLETED),
    Kind.DENIED: (EventType.REQUEST_SUBMITTED, EventType.REQUEST_DENIED),
    Kind.OPT_OUT: (EventType.REQUEST_SUBMITTED, *PROPAGATED, EventType.REQUEST_COMPLETED),
    Kind.OPT_OUT_GPC: (EventType.REQUEST_SUBMITTED, EventType.CONSENT_CHANGED, *PROPAGATED,
                       EventType.REQUEST_COMPLETED),
    Kind.LIMIT: (EventType.REQUEST_SUBMITTED, *PROPAGATED, EventType.REQUEST_COMPLETED),
    # An opt-in of someone who never opted out changes no state: only a published state must be acknowledged.
    Kind.OPT_IN: (EventType.REQUEST_SUBMITTED, EventType.REQUEST_COMPLETED),
}  # fmt: skip


def missing_events(kind: Kind, event_types: Sequence[str]) -> list[str]:
    """The expected event types absent from a timeline, in expected order (empty: the timeline is complete)."""
    present = set(event_types)
    expected = list(EXPECTED[kind])
    if EventType.OPT_OUT_STATE in present:
        expected += [event for event in PROPAGATED if event not in expected]
    return [event for event in expected if event not in present]


def is_answered(event_types: Iterable[str]) -> bool:
    return any(event in ANSWERS for event in event_types)


@dataclass(frozen=True)
class Duplicates:
    event_ids: int  # entries whose event_id another entry of the same timeline already has
    effects: int  # a once-only event (an answer, a report, a completion) present more than once


def duplicates(entries: Sequence[Mapping[str, Any]]) -> Duplicates:
    """Repeated event ids, and once-only events seen twice (two answers count whatever their type)."""
    ids = Counter(str(entry.get("event_id")) for entry in entries)
    types = Counter("answer" if entry["event_type"] in ANSWERS else entry["event_type"] for entry in entries)
    effects = sum(types[event] - 1 for event in (*ONCE, "answer") if types[event] > 1)
    return Duplicates(sum(count - 1 for count in ids.values()), effects)


def verified_deletion(entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a DeletionVerified entry on the timeline says every store was searched again and found clean."""
    return any(entry["event_type"] == EventType.DELETION_VERIFIED
               and (entry.get("details") or {}).get("verified") is True for entry in entries)  # fmt: skip
