"""The erasure plan (pure): for a subject's identifiers, what happens to which collection of which store, in an
order that keeps foreign keys valid (children before parents), with retention and legal holds decided up front.

Rule for a collection: its own `deletion` applies to the whole record; field `deletion`s apply to those fields.
A collection without one is de-identified in place when some of its fields have one, else its matched records are
deleted. `retain` keeps the record (field masks still apply) until retain_for after the record's timestamp, or
after now when it has none; a record whose retention has ended is deleted.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.common.datamap.model import DURATION, EXEMPTIONS, Collection, DataMap, Deletion, Field, Store
from services.common.stores.base import Identifiers
from services.common.stores.redis_store import pattern_keys
from services.common.stores.values import SearchField, search_fields, searched_collections
from services.deletion.erasure.holds import LegalHold, hold_for
from services.deletion.erasure.outcome import Action

ERASED_KINDS = ("sql", "redis", "jsonl")  # http stores are service providers: they get deletion instructions
MaskStrategy = Literal["null", "rewrite", "hash", "hmac"]
Disposal = Literal["delete", "deidentify", "retain"]


@dataclass(frozen=True)
class FieldMask:
    field: str
    strategy: MaskStrategy
    rewrite_to: str | None = None
    kind: str | None = None  # the identifier kind, so a hash of an email is a hash of its normal form


@dataclass(frozen=True)
class Retention:
    exemption: str
    retain_for: str

    @property
    def statute(self) -> str:
        return EXEMPTIONS[self.exemption]

    def until(self, occurred_at: datetime | None, now: datetime) -> datetime:
        return add_duration(occurred_at or now, self.retain_for)


@dataclass(frozen=True)
class CollectionStep:
    collection: Collection
    disposal: Disposal
    masks: tuple[FieldMask, ...] = ()  # applied to the records kept (de-identified or retained)
    retention: Retention | None = None
    match: tuple[SearchField, ...] = ()  # sql and jsonl: identifying fields and the values to match
    keys: tuple[str, ...] = ()  # redis: the keys the pattern gives for the identifier values

    def disposition(self, occurred_at: datetime | None, now: datetime) -> tuple[Action, datetime | None]:
        """What happens to one matched record, and until when it is kept when retained."""
        if self.disposal == "delete":
            return "deleted", None
        if self.retention is None:
            return "deidentified", None
        until = self.retention.until(occurred_at, now)
        return ("retained", until) if until > now else ("deleted", None)


@dataclass(frozen=True)
class StorePlan:
    store: Store
    steps: tuple[CollectionStep, ...]  # children before parents
    now: datetime
    hold: LegalHold | None = None  # when set the store is not changed; its records are reported as held


@dataclass(frozen=True)
class ErasurePlan:
    stores: tuple[StorePlan, ...]
    now: datetime
    subject_key: str | None = None

    def store(self, name: str) -> StorePlan | None:
        return next((plan for plan in self.stores if plan.store.name == name), None)


def plan_erasure(datamap: DataMap, identifiers: Identifiers, *, subject_key: str | None = None,
                 holds: Iterable[LegalHold] = (), now: datetime | None = None,
                 stores: Iterable[str] | None = None) -> ErasurePlan:  # fmt: skip
    """The plan for every sql, redis and jsonl store (or only those named in `stores`)."""
    moment = now or datetime.now(UTC)
    wanted = set(stores) if stores is not None else None
    held = tuple(holds)
    plans = []
    for store in datamap.stores:
        if store.kind in ERASED_KINDS and (wanted is None or store.name in wanted):
            steps = tuple(step for collection in children_first(datamap, store)
                          if (step := collection_step(datamap, store, collection, identifiers)))  # fmt: skip
            plans.append(StorePlan(store, steps, moment, hold_for(held, subject_key, store.name)))
    return ErasurePlan(tuple(plans), moment, subject_key)


def collection_step(datamap: DataMap, store: Store, collection: Collection,
                    identifiers: Identifiers) -> CollectionStep | None:  # fmt: skip
    """How the collection's matched records are erased; None when no identifier value can match a record."""
    if collection.shared:
        return None  # rows many people share (a product, an employee): referenced, never the subject's to erase
    match: tuple[SearchField, ...] = ()
    keys: tuple[str, ...] = ()
    if store.kind == "redis":
        keys = tuple(pattern_keys(collection, identifiers, _combinations(collection, identifiers)))
    else:
        match = tuple(search_fields(datamap, store, collection, identifiers))
    if not (match or keys):
        return None
    masks = field_masks(datamap, store, collection)
    deletion = collection.deletion
    if deletion is not None and deletion.strategy == "delete":
        return CollectionStep(collection, "delete", match=match, keys=keys)
    if deletion is not None and deletion.strategy == "retain":
        return CollectionStep(collection, "retain", masks, _retention(deletion), match, keys)
    if field_retention := next((f.deletion for f in collection.fields if _retains(f)), None):
        return CollectionStep(collection, "retain", masks, _retention(field_retention), match, keys)
    if masks:
        return CollectionStep(collection, "deidentify", masks, match=match, keys=keys)
    return CollectionStep(collection, "delete", match=match, keys=keys)


def field_masks(datamap: DataMap, store: Store, collection: Collection) -> tuple[FieldMask, ...]:
    """Each field's own strategy; a collection-level null/rewrite/hash/hmac covers its other PI and identifying
    fields. Primary-key fields are never masked (rows are found and updated by them)."""
    whole = collection.deletion if collection.deletion and collection.deletion.strategy not in ("delete", "retain") \
        else None  # fmt: skip
    masks = []
    for data_field in collection.fields:
        kind = datamap.identifier_kind(store, collection, data_field)
        deletion = data_field.deletion
        if deletion is None and whole is not None and (data_field.is_pi or kind):
            deletion = whole
        if deletion is None or deletion.strategy == "retain" or data_field.name in collection.primary_key:
            continue
        strategy: MaskStrategy = "null" if deletion.strategy == "delete" else deletion.strategy
        masks.append(FieldMask(data_field.name, strategy, deletion.rewrite_to, kind))
    return tuple(masks)


def children_first(datamap: DataMap, store: Store) -> list[Collection]:
    """Collections ordered so that one referencing another (same store) comes before it; ties and cycles keep
    the data map's order."""
    collections = list(searched_collections(store))
    parents = {c.name: {p for f in c.fields if (p := _parent(store, f)) and p != c.name} for c in collections}
    children = {c.name: {n for n, ps in parents.items() if c.name in ps} for c in collections}
    ordered: list[Collection] = []
    remaining = list(collections)
    while remaining:
        ready = next((c for c in remaining if not (children[c.name] - {o.name for o in ordered})), remaining[0])
        ordered.append(ready)
        remaining.remove(ready)
    return ordered


def _parent(store: Store, data_field: Field) -> str | None:
    """The same-store collection a field references (`table.field` or `<this store>.table.field`)."""
    parts = (data_field.references or "").split(".")
    if len(parts) == 2:
        return parts[0]
    if len(parts) == 3 and parts[0] == store.name:
        return parts[1]
    return None


def _retains(data_field: Field) -> bool:
    return data_field.deletion is not None and data_field.deletion.strategy == "retain"


def _retention(deletion: Deletion) -> Retention:
    if deletion.exemption is None or deletion.retain_for is None:  # the data map model refuses this; typing needs it
        raise ValueError("strategy 'retain' needs an exemption and retain_for")
    return Retention(deletion.exemption, deletion.retain_for)


def _combinations(collection: Collection, identifiers: Mapping[str, Any]) -> int:
    """Every key the pattern gives: a deletion leaves no combination of the subject's values out."""
    return max(1, math.prod(len(identifiers.get(kind, ())) for kind in dict.fromkeys(collection.key_kinds())))


def add_duration(start: datetime, duration: str) -> datetime:
    """`start` plus an ISO-8601 duration of years, months and days (P7Y, P18M, P90D); month ends are clamped."""
    parsed = DURATION.match(duration)
    if parsed is None:
        raise ValueError(f"retain_for {duration!r} is not an ISO-8601 duration like P7Y, P18M or P90D")
    years, months, days = (int(part or 0) for part in parsed.groups())
    month_index = start.month - 1 + months + 12 * years
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=days)
