"""What each event's content must satisfy beyond its Avro shape: one rule set per event type, keyed by its name.

A consumer checks every event it handles before its handler runs; a breach is a poison message (DLQ and
RequestFailed). Breach messages name the field and the rule, never the value: it could be an identifier.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.common.clocks import EXTENDED_RESPOND_CALENDAR_DAYS
from services.common.errors import PoisonMessage
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.flows.vocabulary import CHANNELS as FLOW_CHANNELS
from services.common.flows.vocabulary import DENY_REASONS, RELATIONS
from services.common.identity import IdentifierKind
from services.common.request_types import ActingService, RequestDecision, RequestType
from services.common.subject_types import SUBJECT_TYPES

MAX_TEXT = 10_000
MAX_ITEMS = 10_000
MAX_NAME = 64
MAX_AGENT_TEXT = 200  # an authorised agent's name or permission reference, as intake accepts them
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)  # the CCPA took effect: no event of this pipeline is older
EARLIEST_DATE = date(1900, 1, 1)
CLOCK_SKEW = timedelta(days=1)
# The longest legal clock (receipt day + 90, to the end of that Los Angeles day), with slack for time zones.
LONGEST_DUE = timedelta(days=EXTENDED_RESPOND_CALENDAR_DAYS + 2)
LONGEST_FUTURE = timedelta(days=2 * 366)  # any other instant: a report's expiry, a no-re-ask date
UNKNOWN_SUBJECT = "unknown"  # what a RequestFailed carries when the failed message had no readable subject

CHANNELS = frozenset({"web_form", "api", "email", "phone", "mail", "in_person", "agent_portal"})
VERIFICATION_LEVELS = frozenset({"none", "reasonable", "reasonably_high"})
VERIFICATION_OUTCOMES = frozenset({"verified", "not_required", "no_match", "insufficient"})
CONSENT_SCOPES = frozenset({"consumer", "device"})
# What a person of the privacy team can do through the console (OperatorActed.action), and how it ended.
OPERATOR_ACTIONS = frozenset({
    "signed_in", "sign_in_refused", "signed_out", "account_locked", "account_added", "account_disabled",
    "report_downloaded", "extended", "answer_approved", "answer_denied", "hold_placed", "hold_released",
    "recipient_confirmed", "instruction_resent", "notice_resent", "consent_looked_up",
})  # fmt: skip
OPERATOR_ROLES = frozenset({"viewer", "operator", "admin", "none"})
OPERATOR_OUTCOMES = frozenset({"done", "refused", "failed"})
NO_SUBJECT = "none"  # what an OperatorActed about no consumer (a sign-in, an account change) carries as subject
UNKNOWN_ACTOR = "unknown"  # a refused sign-in under a name no account has: the name itself is never recorded
NOTICE_KINDS = frozenset({"verification_code", "acknowledgement", "extension", "response", "report_ready"})
REQUEST_TYPES = frozenset(kind.value for kind in RequestType)
IDENTIFIER_KINDS = frozenset(kind.value for kind in IdentifierKind)
DECISIONS = frozenset(decision.value for decision in RequestDecision)
ACTING_SERVICES = frozenset(service.value for service in ActingService)
SUBJECT_KEY = re.compile(r"[0-9a-f]{64}")
SHA256 = re.compile(r"[0-9a-f]{64}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


class ContractBreach(PoisonMessage):
    """An event whose content breaks its contract: dead-lettered, never applied."""


@dataclass(frozen=True)
class Facts:
    """What a rule may look at besides the field: the whole event and the time it is checked."""

    event: Event
    now: datetime
    payload: Mapping[str, Any]  # the payload as the codec writes it: every field by its Avro name


Rule = Callable[[Any, Facts], str | None]  # the rule broken, or None


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def is_subject_key(value: object) -> bool:
    return isinstance(value, str) and SUBJECT_KEY.fullmatch(value) is not None


def is_name(value: object, max_length: int = MAX_NAME) -> bool:
    return isinstance(value, str) and len(value) <= max_length and NAME.fullmatch(value) is not None


def one_of(values: frozenset[str]) -> Rule:
    return lambda value, _facts: None if value in values else "must be one of the known values"


def each_one_of(values: frozenset[str]) -> Rule:
    return lambda items, _facts: None if all(item in values for item in items) else "holds an unknown value"


def optional(rule: Rule) -> Rule:
    """The rule, for a field events written before it existed leave null."""
    return lambda value, facts: None if value is None else rule(value, facts)


def name(max_length: int = MAX_NAME) -> Rule:
    """A short machine name: a code, an outcome, a consumer group, a downstream system."""

    def rule(value: Any, _facts: Facts) -> str | None:
        if value is None or is_name(value, max_length):
            return None
        return f"must be a name of at most {max_length} letters, digits and _.:-"

    return rule


def optional_uuid(value: Any, _facts: Facts) -> str | None:
    return None if value is None or is_uuid(value) else "must be a UUID"


def required_uuid(value: Any, _facts: Facts) -> str | None:
    return None if is_uuid(value) else "must be a UUID"


def optional_subject_key(value: Any, _facts: Facts) -> str | None:
    return None if value is None or is_subject_key(value) else "must be a subject key (64 lower-case hex digits)"


def each_uuid(items: Any, _facts: Facts) -> str | None:
    return None if all(is_uuid(item) for item in items) else "must hold only UUIDs"


def each_name(items: Any, _facts: Facts) -> str | None:
    return None if all(is_name(item) for item in items) else f"must hold only names of at most {MAX_NAME} characters"


def sha256(value: Any, _facts: Facts) -> str | None:
    return None if SHA256.fullmatch(value) else "must be a SHA-256 digest (64 lower-case hex digits)"


def past_instant(value: Any, facts: Facts) -> str | None:
    """Something that already happened: not before the CCPA, not after now (give or take clock skew)."""
    if value is None or EARLIEST <= value <= facts.now + CLOCK_SKEW:
        return None
    return "must be a past instant, not before 2020"


def positive(value: Any, _facts: Facts) -> str | None:
    return None if isinstance(value, int) and value >= 1 else "must be a whole number of at least 1"


def due_after(anchor: str) -> Rule:
    """A legal deadline: no earlier than the anchor field (or occurred_at), no later than the longest clock."""

    def rule(value: Any, facts: Facts) -> str | None:
        start = facts.payload.get(anchor) if anchor != "occurred_at" else facts.event.occurred_at
        if value is None or not isinstance(start, datetime) or start <= value <= start + LONGEST_DUE:
            return None
        return f"must fall between {anchor} and {LONGEST_DUE.days} days after it"

    return rule


def not_before(other: str) -> Rule:
    def rule(value: Any, facts: Facts) -> str | None:
        earlier = facts.payload.get(other)
        return None if value is None or earlier is None or earlier <= value else f"must not be before {other}"

    return rule


def short_text(max_length: int) -> Rule:
    """Free text a person typed (an agent's name, a reference): bounded, one line, no control characters."""

    def rule(value: Any, _facts: Facts) -> str | None:
        if value is None or (len(value) <= max_length and value.isprintable()):
            return None
        return f"must be one line of at most {max_length} printable characters"

    return rule


def any_of_rules(*rules: Rule) -> Rule:
    """The value meets at least one of the rules; otherwise the first rule's complaint."""

    def rule(value: Any, facts: Facts) -> str | None:
        broken = [check(value, facts) for check in rules]
        return None if any(complaint is None for complaint in broken) else broken[0]

    return rule


def all_of(*rules: Rule) -> Rule:
    def rule(value: Any, facts: Facts) -> str | None:
        return next((broken for check in rules if (broken := check(value, facts))), None)

    return rule


@dataclass(frozen=True)
class EventContract:
    """The rules one event type's content meets, beyond its Avro schema."""

    event_type: EventType
    about_request: bool = True
    fields: Mapping[str, Rule] = field(default_factory=dict)
    subjects: frozenset[str] = frozenset()  # subject keys allowed besides real ones

    def check(self, event: Event, now: datetime | None = None) -> None:
        facts = Facts(event, now or utcnow(), event.payload.to_record())
        broken = next(self.breaches(facts), None)
        if broken is not None:
            raise ContractBreach(f"{event.event_type} refused: {broken}")

    def breaches(self, facts: Facts) -> Iterator[str]:
        yield from _envelope(self, facts)
        for field_name, rule in self.fields.items():
            if (broken := rule(facts.payload.get(field_name), facts)) is not None:
                yield f"payload.{field_name} {broken}"
        yield from _bounded("payload", facts.payload, facts.now)


def _envelope(contract: EventContract, facts: Facts) -> Iterator[str]:
    event = facts.event
    if not is_uuid(event.event_id):
        yield "event_id must be a UUID"
    if event.request_id is None and contract.about_request:
        yield "request_id is missing (this event is about a request)"
    elif event.request_id is not None and not is_uuid(event.request_id):
        yield "request_id must be a UUID"
    if not (is_subject_key(event.subject_key) or event.subject_key in contract.subjects):
        yield "subject_key must be a subject key (64 lower-case hex digits)"
    if name()(event.producer, facts):
        yield f"producer must be a name of at most {MAX_NAME} letters, digits and _.:-"
    if past_instant(event.occurred_at, facts):
        yield "occurred_at must be a past instant, not before 2020"


# A RequestFailed for an outbox row Kafka never accepted has no partition or offset: -1 says so (outbox.py).
NOT_ON_A_TOPIC = -1
_POSITIONS = frozenset({"payload.source_partition", "payload.source_offset"})


def _bounded(path: str, value: Any, now: datetime) -> Iterator[str]:
    """Limits every value meets, whatever its field: bounded text and lists, counts, sane instants."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            yield f"{path} is longer than {MAX_TEXT} characters"
        elif "\x00" in value:
            yield f"{path} holds a NUL character"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and value < 0 and not (value == NOT_ON_A_TOPIC and path in _POSITIONS):
        yield f"{path} must not be negative"
    elif isinstance(value, datetime):
        if not EARLIEST <= value <= now + LONGEST_FUTURE:
            yield f"{path} must fall between 2020 and {LONGEST_FUTURE.days} days from now"
    elif isinstance(value, date):
        if not EARLIEST_DATE <= value <= (now + LONGEST_FUTURE).date():
            yield f"{path} must be a date between 1900 and {LONGEST_FUTURE.days} days from now"
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            yield f"{path} has more than {MAX_ITEMS} items"
        for item in value[:MAX_ITEMS]:
            yield from _bounded(f"{path}[]", item, now)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _bounded(f"{path}.{key}", item, now)


def _contract(event_type: EventType, about_request: bool = True, **fields: Rule) -> EventContract:
    return EventContract(event_type, about_request, fields)


_request_type = one_of(REQUEST_TYPES)
_operation = one_of(frozenset({"delete", "correct"}))

CONTRACTS: dict[EventType, EventContract] = {
    contract.event_type: contract
    for contract in (
        _contract(
            EventType.REQUEST_SUBMITTED,
            request_type=_request_type,
            requested_type=_request_type,
            channel=one_of(CHANNELS),
            received_at=past_instant,
            acknowledged_at=due_after("received_at"),
            respond_by=due_after("received_at"),
            max_extended_respond_by=all_of(due_after("received_at"), not_before("respond_by")),
            identifier_kinds=each_one_of(IDENTIFIER_KINDS),
            verification_required=one_of(VERIFICATION_LEVELS),
            verification_achieved=one_of(VERIFICATION_LEVELS),
            verification_outcome=one_of(VERIFICATION_OUTCOMES),
            date_range_end=not_before("date_range_start"),
            decision=optional(one_of(DECISIONS)),
            acting_services=optional(each_one_of(ACTING_SERVICES)),
            agent_name=short_text(MAX_AGENT_TEXT),
            agent_permission_reference=short_text(MAX_AGENT_TEXT),
            declaration_signed_at=past_instant,
            declaration_text_version=name(32),
            subject_type=one_of(SUBJECT_TYPES),
        ),
        _contract(
            EventType.REQUEST_EXTENDED, respond_by=all_of(due_after("occurred_at"), not_before("previous_respond_by"))
        ),
        _contract(EventType.REQUEST_DENIED, denial_code=name(32)),
        _contract(EventType.REQUEST_COMPLETED, outcome=name(32)),
        _contract(EventType.REPORT_DOWNLOADED, format=name(), sha256=sha256),
        _contract(
            EventType.KEYS_SHREDDED,
            about_request=False,  # an operator's shred by hand concludes no request
            key_ids=each_name,
            deletion_request_ids=each_uuid,
            shredded_at=past_instant,
            trigger=one_of(frozenset({"deletion_completed", "operator"})),
            operator=name(),
            reason=name(),
        ),
        _contract(
            EventType.NOTICE_SENT,
            notice=one_of(NOTICE_KINDS),
            template=name(),
            template_version=name(32),
            delivery=one_of(frozenset({"sent", "retrying", "failed"})),
            detail=short_text(200),  # "SMTP 451", "mail server unreachable (TimeoutError)", "address erased"
            recipient_key=sha256,
            message_id=short_text(MAX_AGENT_TEXT),
        ),
        _contract(
            EventType.REPORT_READY, request_type=_request_type, sha256=sha256, period_end=not_before("period_start")
        ),
        _contract(
            EventType.REPORT_DESTROYED,
            formats=each_one_of(frozenset({"json", "csv", "html"})),
            deletion_request_id=required_uuid,
        ),
        _contract(
            EventType.DISCOVERY_STARTED, request_type=_request_type, date_range_end=not_before("date_range_start")
        ),
        _contract(EventType.DISCOVERY_COMPLETED, request_type=_request_type, subject_type=one_of(SUBJECT_TYPES)),
        _contract(EventType.STORE_SEARCHED),
        _contract(EventType.STORE_ERASED, operation=_operation),
        _contract(EventType.DELETION_VERIFIED),
        _contract(EventType.DELETION_COMPLETED, operation=_operation),
        _contract(EventType.PROVIDER_INSTRUCTED),
        _contract(EventType.PROVIDER_CONFIRMED),
        _contract(EventType.PROVIDER_OVERDUE),
        _contract(
            EventType.CONSENT_CHANGED,
            about_request=False,
            source=name(32),
            scope=one_of(CONSENT_SCOPES),
            effective_at=past_instant,
            device_key=optional_subject_key,
        ),
        _contract(EventType.OPT_OUT_STATE, about_request=False, scope=one_of(CONSENT_SCOPES)),
        _contract(EventType.OPT_OUT_APPLIED, about_request=False),
        _contract(EventType.OPT_OUT_ACKNOWLEDGED, about_request=False, downstream=name(), state_event_id=optional_uuid),
        _contract(EventType.PROPAGATION_OVERDUE, about_request=False, downstream=name()),
    )
}
CONTRACTS[EventType.ANSWER_REVIEWED] = _contract(
    EventType.ANSWER_REVIEWED, verdict=one_of(frozenset({"approved", "denied"})), reviewer=required_uuid
)
CONTRACTS[EventType.OPERATOR_ACTED] = EventContract(
    EventType.OPERATOR_ACTED,
    about_request=False,
    fields={
        "actor_id": any_of_rules(required_uuid, one_of(frozenset({UNKNOWN_ACTOR}))),
        "actor_role": one_of(OPERATOR_ROLES),
        "action": one_of(OPERATOR_ACTIONS),
        "result": one_of(OPERATOR_OUTCOMES),
        "reason": short_text(500),
        "target": short_text(MAX_AGENT_TEXT),
        "detail": short_text(500),
    },
    subjects=frozenset({NO_SUBJECT}),
)
CONTRACTS[EventType.FLOW_BLOCKED] = _contract(
    EventType.FLOW_BLOCKED,
    about_request=False,
    flow=name(),
    recipient=name(),
    relation=one_of(RELATIONS),
    channel=one_of(FLOW_CHANNELS),
    reason=one_of(DENY_REASONS),
    gate=name(),
    count=positive,
    first_at=past_instant,
    last_at=all_of(past_instant, not_before("first_at")),
)
CONTRACTS[EventType.REQUEST_FAILED] = EventContract(
    EventType.REQUEST_FAILED,
    about_request=False,
    fields={"failed_event_id": optional_uuid, "consumer_group": name(249)},
    subjects=frozenset({UNKNOWN_SUBJECT}),
)
# Audit's deadline watch: a downstream acknowledgement of an opt-out no request asked for belongs to no request.
DEADLINE_CLOCKS = frozenset(
    {"acknowledge", "respond", "extension_notice", "opt_out", "provider_confirmation", "downstream_ack"}
)
for _deadline_type in (EventType.DEADLINE_APPROACHING, EventType.DEADLINE_MISSED):
    CONTRACTS[_deadline_type] = _contract(
        _deadline_type,
        about_request=False,
        clock=one_of(DEADLINE_CLOCKS),
        item=optional(name(249)),
        request_type=optional(_request_type),
    )
ALL_EVENT_TYPES = frozenset(CONTRACTS)


def check(event: Event, now: datetime | None = None) -> None:
    """Raise ContractBreach when the event's content breaks the rules of its type (an unknown type breaks them)."""
    contract = CONTRACTS.get(event.event_type)
    if contract is None:
        raise ContractBreach("event_type is not a known event type")
    contract.check(event, now)
