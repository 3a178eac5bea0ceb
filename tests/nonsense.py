"""Valid Avro with nonsense content: a well-formed event of every type, and the ways to spoil one that Avro allows.

Shared by the contract unit tests (hypothesis) and the consumer fuzz test against the real broker (seeded).
"""

from __future__ import annotations

import dataclasses
import functools
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.common.events import Event, utcnow
from services.common.serde import NAMESPACE, SchemaCatalog
from tests.fields import event_of, with_fields

SUBJECT = "5e" * 32
PAST = timedelta(hours=1)
# Field values a real producer writes; any other field gets a plain value of its Avro type.
KNOWN_VALUES: dict[str, Callable[[datetime], Any]] = {
    "request_type": lambda now: "delete",
    "requested_type": lambda now: "delete",
    "channel": lambda now: "api",
    "received_at": lambda now: now - PAST,
    "acknowledged_at": lambda now: now - PAST,
    "respond_by": lambda now: now + timedelta(days=44),
    "previous_respond_by": lambda now: now + timedelta(days=44),
    "max_extended_respond_by": lambda now: now + timedelta(days=89),
    "effective_at": lambda now: now - PAST,
    "identifier_kinds": lambda now: ["email"],
    "verification_required": lambda now: "reasonable",
    "verification_achieved": lambda now: "reasonable",
    "verification_outcome": lambda now: "verified",
    "sha256": lambda now: "ab" * 32,
    "scope": lambda now: "consumer",
    "source": lambda now: "gpc",
    "operation": lambda now: "delete",
    "format": lambda now: "json",
    "denial_code": lambda now: "not_verified",
    "outcome": lambda now: "complied",
    "downstream": lambda now: "adtech-sync",
    "consumer_group": lambda now: "ccpa-audit",
    "state_event_id": lambda now: str(uuid.uuid4()),
    "failed_event_id": lambda now: str(uuid.uuid4()),
    "failed_event_type": lambda now: "RequestSubmitted",
    "formats": lambda now: ["json", "csv"],
    "deletion_request_id": lambda now: str(uuid.uuid4()),
    "period_start": lambda now: date(2025, 1, 1),
    "period_end": lambda now: date(2025, 12, 31),
    "decision": lambda now: "accepted",
    "clock": lambda now: "respond",
    "acting_services": lambda now: ["deletion", "discovery"],
    "deletion_request_ids": lambda now: [str(uuid.uuid4())],
    "key_ids": lambda now: ["dk-0123456789abcdef"],
    "trigger": lambda now: "deletion_completed",
    "shredded_at": lambda now: now - PAST,
    "notice": lambda now: "acknowledgement",
    "delivery": lambda now: "sent",
    "template_version": lambda now: "1",
    "recipient_key": lambda now: "cd" * 32,
    "verdict": lambda now: "approved",
    "reviewer": lambda now: str(uuid.uuid4()),
    "actor_id": lambda now: str(uuid.uuid4()),
    "actor_role": lambda now: "operator",
    "action": lambda now: "extended",
    "result": lambda now: "done",
    "subject_type": lambda now: "consumer",
    "flow": lambda now: "coop-export",
    "recipient": lambda now: "brightlist",
    "relation": lambda now: "sale",
    "reason": lambda now: "sale_opt_out",
    "gate": lambda now: "coop-export-job",
    "count": lambda now: 3,
}
# Where one field name means something else in one event type (a flow's channel is not a request's).
KNOWN_BY_TYPE: dict[str, dict[str, Callable[[datetime], Any]]] = {
    "FlowBlocked": {
        "channel": lambda now: "server_export",
        "first_at": lambda now: now - 2 * PAST,
        "last_at": lambda now: now - PAST,
    },
}
NULLABLE_ABOUT_REQUEST = frozenset(
    {
        "ConsentChanged",
        "OptOutState",
        "OptOutApplied",
        "OptOutAcknowledged",
        "PropagationOverdue",
        "RequestFailed",
        "KeysShredded",
        "DeadlineApproaching",
        "DeadlineMissed",
        "OperatorActed",
        "FlowBlocked",
    }
)


@functools.cache
def _catalog() -> SchemaCatalog:
    return SchemaCatalog()


def event_types(catalog: SchemaCatalog | None = None) -> list[str]:
    catalog = catalog or _catalog()
    return sorted(contract.event_type for contract in catalog.by_name.values() if contract.is_event)


def well_formed(event_type: str, now: datetime | None = None, catalog: SchemaCatalog | None = None) -> Event:
    """An event of this type as its real producer would write it."""
    now = now or utcnow()
    schema = (catalog or _catalog()).for_event_type(event_type).schema
    payload_schema = next(f["type"] for f in schema["fields"] if f["name"] == "payload")
    known = KNOWN_BY_TYPE.get(event_type, {})
    payload = {f["name"]: known[f["name"]](now) if f["name"] in known else _value(f["name"], f["type"], now)
               for f in payload_schema["fields"]}  # fmt: skip
    return event_of(event_type, SUBJECT, "intake", payload, request_id=str(uuid.uuid4()), occurred_at=now - PAST)


def _value(name: str, avro: Any, now: datetime) -> Any:
    if name in KNOWN_VALUES:
        return KNOWN_VALUES[name](now)
    if isinstance(avro, list):
        return None if "null" in avro else _value(name, avro[0], now)
    if isinstance(avro, dict):
        if avro.get("logicalType") == "timestamp-micros":
            return now + timedelta(days=1)
        if avro.get("logicalType") == "date":
            return now.date()
        if avro["type"] == "array":
            return [_value(name, avro["items"], now)]
        if avro["type"] == "record":
            return {f["name"]: _value(f["name"], f["type"], now) for f in avro["fields"]}
        return _value(name, avro["type"], now)
    if avro == f"{NAMESPACE}.EncryptedValue":
        return {"key_id": "dk-1", "nonce": b"\x00" * 12, "ciphertext": b"\x01" * 16}
    if avro == f"{NAMESPACE}.Exemption":
        return {"store": "app-db", "collection": "orders", "code": "tax", "basis": "law", "records": 1,
                "retain_until": None}  # fmt: skip
    return {"string": "app-db", "int": 1, "long": 1, "boolean": False, "bytes": b"\x00"}[avro]


@dataclasses.dataclass(frozen=True)
class Spoiler:
    """One way to make a well-formed event nonsense without breaking its Avro shape."""

    name: str
    applies: Callable[[Event], bool]
    spoil: Callable[[Event, random.Random], Event]


def fields_of(event: Event) -> dict[str, Any]:
    """The payload as the codec writes it: every field by name, arrays as lists."""
    return event.payload.to_record()


def _fields(event: Event, kind: type) -> list[str]:
    return sorted(key for key, value in fields_of(event).items()
                  if isinstance(value, kind) and not isinstance(value, bool))  # fmt: skip


def _lists(event: Event) -> list[str]:
    return [key for key in _fields(event, list) if fields_of(event)[key]]


def _repeat(event: Event, field: str, times: int) -> Event:
    return _set(event, field, [fields_of(event)[field][0]] * times)


def _set(event: Event, field: str, value: Any) -> Event:
    return with_fields(event, {**fields_of(event), field: value})


def _pick(kind: type, value: Callable[[random.Random], Any]) -> Callable[[Event, random.Random], Event]:
    return lambda event, rng: _set(event, rng.choice(_fields(event, kind)), value(rng))


HUGE = 60_000
WIDE_AND_EMOJI = "\uff52\uff45\uff51\U0001f642"
ADVERSARIAL_TEXT = ("x" * HUGE, "a\x00b", WIDE_AND_EMOJI * 6_000, "'; DROP TABLE request_records; --" * 400)
SPOILERS = (
    Spoiler("unknown request type", lambda e: "request_type" in fields_of(e),
            lambda e, rng: _set(e, "request_type", rng.choice(["frobnicate", "DELETE", "", "know_everything"]))),
    Spoiler("due in 9999", lambda e: "respond_by" in fields_of(e),
            lambda e, rng: _set(e, "respond_by", datetime(9999, 12, 31, tzinfo=UTC))),
    Spoiler("instant far in the future", lambda e: bool(_fields(e, datetime)),
            _pick(datetime, lambda rng: datetime(rng.randint(2200, 9999), 1, 1, tzinfo=UTC))),
    Spoiler("instant far in the past", lambda e: bool(_fields(e, datetime)),
            _pick(datetime, lambda rng: datetime(rng.randint(1970, 2010), 6, 1, tzinfo=UTC))),
    Spoiler("no request id", lambda e: e.event_type not in NULLABLE_ABOUT_REQUEST,
            lambda e, rng: dataclasses.replace(e, request_id=None)),
    Spoiler("request id not a UUID", lambda e: True,
            lambda e, rng: dataclasses.replace(e, request_id=rng.choice(["42", "../../etc/passwd", "x" * 36]))),
    Spoiler("subject key of the wrong shape", lambda e: True,
            lambda e, rng: dataclasses.replace(e, subject_key=rng.choice(["", "ÿ" * 64, "A" * 64, "a" * HUGE]))),
    Spoiler("event in the future", lambda e: True,
            lambda e, rng: dataclasses.replace(e, occurred_at=datetime(9999, 1, 1, tzinfo=UTC))),
    Spoiler("producer name huge", lambda e: True, lambda e, rng: dataclasses.replace(e, producer="p" * HUGE)),
    Spoiler("adversarial text", lambda e: bool(_fields(e, str)), _pick(str, lambda rng: rng.choice(ADVERSARIAL_TEXT))),
    Spoiler("negative count", lambda e: bool(_fields(e, int)), _pick(int, lambda rng: -rng.randint(1, 2**31 - 1))),
    Spoiler("too many items", lambda e: bool(_lists(e)), lambda e, rng: _repeat(e, rng.choice(_lists(e)), 20_000)),
    Spoiler("unknown channel", lambda e: "channel" in fields_of(e),
            lambda e, rng: _set(e, "channel", "carrier pigeon")),
    Spoiler("unknown verification outcome", lambda e: "verification_outcome" in fields_of(e),
            lambda e, rng: _set(e, "verification_outcome", "trust me")),
)  # fmt: skip


def spoilers_for(event: Event) -> list[Spoiler]:
    return [spoiler for spoiler in SPOILERS if spoiler.applies(event)]


def nonsense(event_type: str, rng: random.Random, how: str | None = None) -> tuple[Event, str]:
    """A well-formed event of the type spoiled one way (the named one, or at random), with the spoiler's name."""
    event = well_formed(event_type)
    spoilers = spoilers_for(event)
    spoiler = next(s for s in spoilers if s.name == how) if how else rng.choice(spoilers)
    return spoiler.spoil(event, rng), spoiler.name
