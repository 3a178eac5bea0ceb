"""A request's timeline as a story a person reads: one or more plain sentences per entry, each with its time in
Pacific. Pure: the entries come from audit's timeline, the people's names from the console's accounts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.event_types import EventType
from services.common.pacific import long_date, moment_text
from services.console.clients.parsing import moment
from services.console.words import CHANNELS, NOTICES, TYPES

UNKNOWN_PERSON = "unknown person"
CLOCKS = {"acknowledge": "acknowledgement", "respond": "response", "extension_notice": "extension notice",
          "opt_out": "opt-out", "provider_confirmation": "recipient's confirmation",
          "downstream_ack": "downstream acknowledgement"}  # fmt: skip
OPERATIONS = {"delete": "deletion", "correct": "correction"}
# What a person did, as "<Name> <phrase>"; the target (a format, a recipient, a notice) follows when there is one.
DEEDS = {"signed_in": "signed in", "sign_in_refused": "was refused at sign-in", "signed_out": "signed out",
         "account_locked": "was locked out", "account_added": "added an account",
         "account_disabled": "disabled an account", "report_downloaded": "downloaded the report",
         "extended": "extended the request", "answer_approved": "approved the answer",
         "answer_denied": "denied the answer", "hold_placed": "placed a legal hold",
         "hold_released": "released a legal hold", "recipient_confirmed": "recorded a recipient's confirmation",
         "instruction_resent": "sent an instruction again", "notice_resent": "sent a notice again",
         "consent_looked_up": "looked up the consent state"}  # fmt: skip
ATTEMPTS = {"report_downloaded": "download the report", "extended": "extend the request",
            "answer_approved": "approve the answer", "answer_denied": "deny the answer",
            "hold_placed": "place a legal hold", "hold_released": "release a legal hold",
            "recipient_confirmed": "record a recipient's confirmation",
            "instruction_resent": "send an instruction again",
            "notice_resent": "send a notice again"}  # fmt: skip


@dataclass(frozen=True)
class Line:
    at: datetime | None
    when: str  # the time in Pacific, in words
    text: str


@dataclass
class Context:
    """What the sentences of one entry may need from the others, and the people's names by account id."""

    names: Mapping[str, str]
    stores_searched: int | None = None
    reviewed_before_send: bool = False  # the answer waits for a person's approval before it goes out
    operations: dict[str, str] = field(default_factory=dict)  # instruction id → delete | correct
    confirmed_by_operator: set[str] = field(default_factory=set)  # recipients an operator confirmed

    def person(self, account_id: object) -> str:
        return self.names.get(str(account_id), UNKNOWN_PERSON)


Sentences = Callable[[dict[str, Any], Context], list[str]]


def story(entries: Sequence[dict[str, Any]], names: Mapping[str, str]) -> list[Line]:
    """The timeline, in its order, as sentences (an entry of a type not known here still gets one)."""
    context = _context(entries, names)
    lines = []
    for entry in entries:
        at = moment(entry.get("occurred_at"))
        when = moment_text(at) if at else "at an unknown time"
        details = entry.get("details") or {}
        write = SENTENCES.get(str(entry.get("event_type")))
        texts = write(details, context) if write else [f"{entry.get('event_type')} (not described here yet)"]
        lines += [Line(at, when, text[:1].upper() + text[1:]) for text in texts]
    return lines


def _context(entries: Sequence[dict[str, Any]], names: Mapping[str, str]) -> Context:
    context = Context(names)
    for entry in entries:
        details, kind = entry.get("details") or {}, entry.get("event_type")
        if kind == EventType.REQUEST_SUBMITTED:
            context.reviewed_before_send = bool(details.get("review_before_send"))
        elif kind == EventType.DISCOVERY_STARTED:
            context.stores_searched = len(details.get("stores") or ())
        elif kind == EventType.PROVIDER_INSTRUCTED:
            context.operations[str(details.get("instruction_id"))] = str(details.get("operation"))
        elif kind == EventType.OPERATOR_ACTED and details.get("action") == "recipient_confirmed" and (
                details.get("result") == "done"):  # fmt: skip
            context.confirmed_by_operator.add(str(details.get("target")))
    return context


def _day(value: object) -> str:
    found = moment(value)
    return long_date(found) if found else "an unknown date"


def _count(n: object, one: str, many: str | None = None) -> str:
    number = int(n) if isinstance(n, int | float | str) and str(n).lstrip("-").isdigit() else 0
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _submitted(d: dict[str, Any], _c: Context) -> list[str]:
    asked = TYPES.get(str(d.get("request_type")), str(d.get("request_type")))
    lines = [f"Received through {CHANNELS.get(str(d.get('channel')), str(d.get('channel')))}: a request to {asked}"]
    if d.get("authorized_agent"):
        lines.append("Made by an authorized agent" + (" with a verified permission" if d.get(
            "agent_permission_verified") else ""))  # fmt: skip
    achieved = str(d.get("verification_achieved") or "none").replace("_", " ")
    if d.get("verification_outcome") == "verified":
        lines.append(f"Identity verified ({achieved})")
    else:
        lines.append(f"Identity not verified to the degree needed ({achieved} of "
                     f"{str(d.get('verification_required') or 'none').replace('_', ' ')})")  # fmt: skip
    if d.get("review_before_send"):
        lines.append("Its answer will be reviewed by the privacy team before it is sent")
    return lines


def _discovery_started(d: dict[str, Any], _c: Context) -> list[str]:
    skipped = d.get("not_searched") or ()
    return [f"Search started in {_count(len(d.get('stores') or ()), 'store')}"
            + (f" ({_count(len(skipped), 'store')} not searched)" if skipped else "")]  # fmt: skip


def _store_searched(d: dict[str, Any], _c: Context) -> list[str]:
    store = d.get("store")
    if d.get("outcome") == "unavailable":
        return [f"Could not search {store} yet: {d.get('reason') or 'it was unavailable'}"]
    return [f"Searched {store}: {_count(d.get('records'), 'record')} found"]


def _discovery_completed(d: dict[str, Any], c: Context) -> list[str]:
    stores = c.stores_searched or len({item.get("store") for item in d.get("inventory") or ()})
    return [f"Searched {_count(stores, 'store')}: {_count(d.get('records'), 'record')} about the consumer"]


def _report_ready(d: dict[str, Any], _c: Context) -> list[str]:
    return [f"Report ready ({_count(d.get('records'), 'record')}; {', '.join(d.get('formats') or ())}; "
            f"available until {_day(d.get('expires_at'))})"]  # fmt: skip


def _extended(d: dict[str, Any], _c: Context) -> list[str]:
    return [f"Extended to 90 days (due {_day(d.get('respond_by'))}): {d.get('reason')}"]


def _completed(d: dict[str, Any], c: Context) -> list[str]:
    part = " in part" if d.get("outcome") == "complied_in_part" else ""
    if c.reviewed_before_send:
        return [f"The answer was ready{part and ' (complied in part)'} and held for review: {d.get('summary')}"]
    return [f"Answered{part}: {d.get('summary')}"]


def _denied(d: dict[str, Any], _c: Context) -> list[str]:
    return [f"Denied{' in part' if d.get('in_part') else ''}: {d.get('basis')}"]


def _reviewed(d: dict[str, Any], c: Context) -> list[str]:
    who = c.person(d.get("reviewer"))
    if d.get("verdict") == "approved":
        return [f"{who} approved the answer, and it was sent"]
    return [f"{who} denied the answer: {d.get('reason')}"]


def _notice(d: dict[str, Any], _c: Context) -> list[str]:
    kind = NOTICES.get(str(d.get("notice")), "notice")
    an = "An" if kind[0] in "aeiou" else "A"
    outcome = {"sent": "was sent", "retrying": "could not be sent yet; it will be tried again",
               "failed": "could not be sent"}.get(str(d.get("delivery")), "was sent")  # fmt: skip
    return [f"{an} {kind} e-mail {outcome}"]


def _deadline(missed: bool) -> Sentences:
    def sentence(d: dict[str, Any], _c: Context) -> list[str]:
        clock = CLOCKS.get(str(d.get("clock")), str(d.get("clock")))
        state = "was missed" if missed else "is near"
        return [f"The {clock} deadline of {_day(d.get('due_at'))} {state}"]

    return sentence


def _deletion_completed(d: dict[str, Any], _c: Context) -> list[str]:
    operation = OPERATIONS.get(str(d.get("operation")), "deletion")
    records = sum(int(store.get("records") or 0) for store in d.get("stores") or ())
    waiting = d.get("providers_pending") or ()
    text = f"The {operation} completed: {_count(records, 'record')} in {_count(len(d.get('stores') or ()), 'store')}"
    return [text + (f"; still waiting for {', '.join(waiting)}" if waiting else "")]


def _deletion_verified(d: dict[str, Any], _c: Context) -> list[str]:
    if d.get("verified"):
        return ["A fresh search found nothing left"]
    left = sum(int(item.get("records") or 0) for item in d.get("remaining") or ())
    return [f"A fresh search still found {_count(left, 'record')}; the deletion is tried again"]


def _store_erased(d: dict[str, Any], _c: Context) -> list[str]:
    changed = sum(int(action.get("records") or 0) for action in d.get("actions") or ())
    if d.get("outcome") == "held":
        return [f"In {d.get('store')}: records kept under a legal hold"]
    if d.get("outcome") == "unavailable":
        return [f"Could not reach {d.get('store')} to erase; it is tried again"]
    verb = "corrected" if d.get("operation") == "correct" else "deleted or de-identified"
    return [f"In {d.get('store')}: {_count(changed, 'record')} {verb}"]


def _instructed(d: dict[str, Any], _c: Context) -> list[str]:
    recipient, operation = d.get("recipient"), OPERATIONS.get(str(d.get("operation")), "deletion")
    outcome = d.get("outcome")
    if outcome == "not_notified":
        return [f"{recipient} was not told of the {operation}: {d.get('explanation')}"]
    if outcome == "failed":
        return [f"The {operation} instruction to {recipient} failed: {d.get('explanation')}"]
    if outcome == "manual":
        return [f"{recipient} must be told of the {operation} by a person (it has no endpoint)"]
    return [f"{recipient} was asked to carry out the {operation}"]


def _confirmed(d: dict[str, Any], c: Context) -> list[str]:
    recipient = str(d.get("recipient"))
    operation = OPERATIONS.get(c.operations.get(str(d.get("instruction_id")), "delete"), "deletion")
    by_hand = " (note by an operator)" if recipient in c.confirmed_by_operator else ""
    return [f"{recipient} confirmed the {operation}{by_hand}"]


_BLOCK_REASONS = {
    "gpc": "the browser sent Global Privacy Control",
    "sale_opt_out": "the consumer opted out of sale",
    "share_opt_out": "the consumer opted out of sharing",
    "limited_sensitive": "the consumer limited the use of sensitive information it carries",
    "state_unknown": "the consumer's choice could not be confirmed in time (held back to be safe)",
    "sensitive_content": "it revealed sensitive information the flow may not carry",
    "not_registered": "the data map registers no such flow",
}


def _flow_blocked(d: dict[str, Any], _c: Context) -> list[str]:
    probe = "A probe replayed through " if d.get("probe") else ""
    held = _count(d.get("count"), "record")
    what = f"{probe}{d.get('gate')} held back {held} bound for {d.get('recipient')} (flow {d.get('flow')})"
    return [f"{what}: {_BLOCK_REASONS.get(str(d.get('reason')), str(d.get('reason')))}"]


def _provider_overdue(d: dict[str, Any], _c: Context) -> list[str]:
    return [f"{d.get('recipient')} had not confirmed by {_day(d.get('confirm_by'))}"]


def _operator(d: dict[str, Any], c: Context) -> list[str]:
    who, action, result = c.person(d.get("actor_id")), str(d.get("action")), d.get("result")
    target = f" ({d['target']})" if d.get("target") else ""
    if result == "refused":
        return [f"{who} tried to {ATTEMPTS.get(action, action.replace('_', ' '))}{target}; refused: "
                f"{d.get('detail') or 'not allowed'}"]  # fmt: skip
    if result == "failed":
        return [f"{who} tried to {ATTEMPTS.get(action, action.replace('_', ' '))}{target}; it failed, nothing "
                "was changed"]  # fmt: skip
    reason = f": {d['reason']}" if d.get("reason") else ""
    return [f"{who} {DEEDS.get(action, action.replace('_', ' '))}{target}{reason}"]


SENTENCES: dict[str, Sentences] = {
    EventType.REQUEST_SUBMITTED: _submitted,
    EventType.DISCOVERY_STARTED: _discovery_started,
    EventType.STORE_SEARCHED: _store_searched,
    EventType.DISCOVERY_COMPLETED: _discovery_completed,
    EventType.REPORT_READY: _report_ready,
    EventType.REPORT_DOWNLOADED: lambda d, _c: [f"The report was downloaded ({d.get('format')})"],
    EventType.REPORT_DESTROYED: lambda d, _c: [f"The report was destroyed: {d.get('reason')}"],
    EventType.REQUEST_EXTENDED: _extended,
    EventType.REQUEST_COMPLETED: _completed,
    EventType.REQUEST_DENIED: _denied,
    EventType.REQUEST_FAILED: lambda d, _c: [f"A step ({d.get('failed_event_type') or 'unknown'}) failed and was "
                                             "set aside for repair"],
    EventType.ANSWER_REVIEWED: _reviewed,
    EventType.NOTICE_SENT: _notice,
    EventType.DEADLINE_APPROACHING: _deadline(missed=False),
    EventType.DEADLINE_MISSED: _deadline(missed=True),
    EventType.DELETION_COMPLETED: _deletion_completed,
    EventType.DELETION_VERIFIED: _deletion_verified,
    EventType.STORE_ERASED: _store_erased,
    EventType.KEYS_SHREDDED: lambda _d, _c: ["The consumer's encryption keys were shredded: every sealed copy of "
                                             "their identifiers is unreadable"],
    EventType.PROVIDER_INSTRUCTED: _instructed,
    EventType.PROVIDER_CONFIRMED: _confirmed,
    EventType.PROVIDER_OVERDUE: _provider_overdue,
    EventType.CONSENT_CHANGED: lambda d, _c: [f"The consumer's choices changed ({d.get('source')})"],
    EventType.OPT_OUT_STATE: lambda d, _c: [f"The consent state became version {d.get('version')}"],
    EventType.OPT_OUT_APPLIED: lambda d, _c: [f"The opt-out was applied in "
                                              f"{_count(len(d.get('systems_updated') or ()), 'system')}"],
    EventType.OPT_OUT_ACKNOWLEDGED: lambda d, _c: [f"{d.get('downstream')} acknowledged the opt-out"],
    EventType.PROPAGATION_OVERDUE: lambda d, _c: [f"{d.get('downstream')} had not acknowledged the opt-out by "
                                                  f"{_day(d.get('acknowledge_by'))}"],
    EventType.OPERATOR_ACTED: _operator,
    EventType.FLOW_BLOCKED: _flow_blocked,
}  # fmt: skip
