"""The hash chain's pure rules: an entry's canonical bytes, a link, and where a walked chain first breaks.

A link is `SHA-256(previous link ‖ canonical entry)`, the previous link as its 32 raw bytes and the entry as RFC 8785
(JSON Canonicalization Scheme) bytes of ENTRY_FIELDS; the first entry of a chain links to GENESIS (32 zero bytes).
docs/audit-proof.md states the same for someone checking by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785

GENESIS = "00" * 32
ENTRY_FIELDS = ("event_id", "request_id", "subject_key", "event_type", "occurred_at", "producer",
                "topic", "partition", "offset", "details")  # fmt: skip
# An entry's fields by name: a dict, or a database row's mapping.
Entry = Mapping[Any, Any]
# The fields that place an entry in a chain: a moved entry differs from its original only in these.
ORDER_FIELDS = ("occurred_at", "offset")


def instant(value: datetime) -> str:
    """An instant's one spelling: UTC, microseconds, `+00:00`."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_entry(entry: Entry) -> bytes:
    """The RFC 8785 bytes of a timeline entry's fields (never its links)."""
    fields = {name: entry[name] for name in ENTRY_FIELDS}
    fields["occurred_at"] = instant(fields["occurred_at"]) if isinstance(fields["occurred_at"], datetime) else \
        fields["occurred_at"]  # fmt: skip
    if _plain(fields):
        text = _COMPACT_JSON.encode(fields)
        if text.isascii():
            return text.encode()
    return rfc8785.dumps(fields)


# For ASCII text, integers of at most 53 bits, booleans, null, arrays and objects with text keys, RFC 8785 is
# exactly compact JSON with sorted keys (the same escapes; code point order is UTF-16 order): the stdlib's C encoder
# writes it several times faster than rfc8785's pure-Python one, which still writes every other entry (floats,
# non-ASCII text, longer integers).
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    """Only values compact JSON writes as RFC 8785 does (text is checked to be ASCII once written)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return isinstance(value, str)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def link(previous: str, canonical: bytes) -> str:
    """SHA-256(previous link's 32 bytes ‖ canonical entry), as 64 hex characters."""
    return hashlib.sha256(bytes.fromhex(previous) + canonical).hexdigest()


class Tampering(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True)
class Break:
    """The first entry of a chain that does not hold: what was done to it, and the entries around it."""

    kind: Tampering
    event_id: str
    after: str | None  # the intact entry before it, None at the start of the chain

    def describe(self, chain: str) -> str:
        where = f"after entry {self.after}" if self.after else "at the start"
        if self.kind is Tampering.DELETED:
            return f"{chain}: an entry was deleted {where}, before entry {self.event_id}"
        return f"{chain}: entry {self.event_id} was {self.kind} ({where})"


@dataclass(frozen=True)
class Linked:
    """An entry as stored: its fields and the link it was given."""

    entry: Entry
    previous: str
    hash: str

    @property
    def event_id(self) -> str:
        return str(self.entry["event_id"])

    def holds(self, entry: Entry | None = None) -> bool:
        return link(self.previous, canonical_entry(entry or self.entry)) == self.hash


def first_break(chain: Sequence[Linked]) -> Break | None:
    """Walk a chain in its order; the first entry whose content or link does not hold, and how it came to be."""
    position = {linked.hash: index for index, linked in enumerate(chain)}
    for index, linked in enumerate(chain):
        expected = chain[index - 1].hash if index else GENESIS
        after = chain[index - 1].event_id if index else None
        if not linked.holds():
            return Break(_unheld_kind(chain, index, expected), linked.event_id, after)
        if linked.previous != expected:
            if position.get(linked.previous, -1) > index:
                return Break(Tampering.REORDERED, linked.event_id, after)
            if index and linked.previous == chain[index - 1].previous:
                return Break(Tampering.INSERTED, chain[index - 1].event_id, _before(chain, index - 1))
            return Break(Tampering.DELETED, linked.event_id, after)
    return None


def _unheld_kind(chain: Sequence[Linked], index: int, expected: str) -> Tampering:
    """An entry whose own link fails: moved (it holds with another entry's place), inserted (the next one links
    past it), or edited."""
    linked = chain[index]
    if any(linked.holds(_moved(linked.entry, other.entry, field)) for other in chain for field in ORDER_FIELDS):
        return Tampering.REORDERED
    if index + 1 < len(chain) and chain[index + 1].previous == expected:
        return Tampering.INSERTED
    return Tampering.EDITED


def _moved(entry: Entry, other: Entry, field: str) -> dict[Any, Any]:
    return {**entry, field: other[field]}


def _before(chain: Sequence[Linked], index: int) -> str | None:
    return chain[index - 1].event_id if index else None
