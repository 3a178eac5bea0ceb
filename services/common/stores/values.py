"""Pure helpers every connector shares: which fields to search, identifier normal forms, JSON-friendly values,
timestamps and hashed locator parts.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from services.common.datamap.model import Collection, DataMap, Field, Store
from services.common.identity import InvalidIdentifier, normalise
from services.common.stores.base import Identifiers

T = TypeVar("T")

SKIP = object()  # a value a record leaves out (raw bytes): not JSON, and not something to show a consumer
MILLISECONDS_AFTER = 1e11  # an epoch number above this is in milliseconds (1e11 seconds is the year 5138)


@dataclass(frozen=True)
class SearchField:
    """A field of a collection to match against the known values of the kind it identifies."""

    field: Field
    kind: str
    values: tuple[str, ...]  # sorted, normalised


def searched_collections(store: Store) -> Iterator[Collection]:
    """Collections discovery searches; §7024(c) archives with a `not_searched_reason` are left alone."""
    return (collection for collection in store.collections if not collection.not_searched_reason)


def searchable_kinds(datamap: DataMap, store: Store) -> frozenset[str]:
    """Identifier kinds a store can be searched by: its identifying fields and its key-pattern placeholders."""
    kinds: set[str] = set()
    for collection in searched_collections(store):
        kinds.update(collection.key_kinds())
        kinds.update(kind for field in collection.fields
                     if field.searched and (kind := datamap.identifier_kind(store, collection, field)))  # fmt: skip
    return frozenset(kinds)


def search_fields(datamap: DataMap, store: Store, collection: Collection,
                  identifiers: Identifiers) -> list[SearchField]:  # fmt: skip
    """The collection's identifying fields whose kind has values in `identifiers` (one-way references never)."""
    found = []
    for field in collection.fields:
        kind = datamap.identifier_kind(store, collection, field) if field.searched else None
        values = sorted(identifiers.get(kind, ())) if kind else []
        if kind and values:
            found.append(SearchField(field, kind, tuple(values)))
    return found


def normalise_identifier(kind: str, value: Any) -> str | None:
    """The string a value of `kind` is known by: str(value), emails lower-cased, phones in E.164 when parseable."""
    if value is None or isinstance(value, bool | bytes | bytearray | dict | list | tuple):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = str(int(value)) if value.is_integer() else str(value)
    else:
        text = str(value).strip()
    if not text:
        return None
    if kind == "email":
        return text.lower()
    if kind == "phone":
        try:
            return normalise("phone", text)
        except InvalidIdentifier:
            return text
    return text


def identifier_values(kind: str, value: Any) -> Iterator[str]:
    """Normal forms of a field value, one per element when the value is a list."""
    for item in value if isinstance(value, list | tuple) else [value]:
        if (text := normalise_identifier(kind, item)) is not None:
            yield text


def json_friendly(value: Any) -> Any:
    """A value the report can serialise: aware UTC datetimes, ISO dates, str decimals and UUIDs; bytes → SKIP."""
    if isinstance(value, bytes | bytearray | memoryview):
        return SKIP
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): item for key, raw in value.items() if (item := json_friendly(raw)) is not SKIP}
    if isinstance(value, list | tuple | set | frozenset):
        return [item for raw in value if (item := json_friendly(raw)) is not SKIP]
    return value


def record_values(collection: Collection, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the data map lists, by field name, JSON-friendly."""
    values = {}
    for field in collection.fields:
        if field.name in raw and (value := json_friendly(raw[field.name])) is not SKIP:
            values[field.name] = value
    return values


def occurred_at(collection: Collection, raw: Mapping[str, Any]) -> datetime | None:
    return parse_timestamp(raw.get(collection.timestamp_field)) if collection.timestamp_field else None


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime, a date, an ISO-8601 string or an epoch number (s or ms); else None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _from_epoch(float(value))
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
        try:
            return parse_timestamp(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def _from_epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) > MILLISECONDS_AFTER:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def short_hash(text: str) -> str:
    """First 16 hex digits of SHA-256: names a record in a locator without showing an identifier value."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def merge_identifiers(into: dict[str, set[str]], more: Mapping[str, Iterable[str]]) -> None:
    for kind, values in more.items():
        into.setdefault(kind, set()).update(values)
