"""Pure summaries of what a walk found: per-store outcome payloads and the subject's inventory, without values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.common.datamap import DataMap, Store
from services.common.payloads.discovery import InventoryEntry
from services.common.stores.base import FoundRecord


@dataclass(frozen=True)
class StoreOutcome:
    store: str
    store_kind: str
    outcome: str  # found | none | unavailable
    records: int
    collections: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    reason: str | None = None


def category_labels(datamap: DataMap, records: Iterable[FoundRecord]) -> tuple[str, ...]:
    """CCPA categories that held a value for the subject: 'A'…'K', and 'L:<sensitive sub-category>'."""
    labels: set[str] = set()
    for record in records:
        store = datamap.store(record.store)
        collection = store.collection(record.collection) if store else None
        if collection is None:
            continue
        for field in collection.fields:
            if field.category and record.values.get(field.name) not in (None, ""):
                labels.add(f"L:{field.sensitive}" if field.category == "L" else field.category)
                if field.category != "L" and field.sensitive:
                    labels.add(f"L:{field.sensitive}")
    return tuple(sorted(labels))


def found_outcome(datamap: DataMap, store: Store, records: Sequence[FoundRecord]) -> StoreOutcome:
    if not records:
        return StoreOutcome(store.name, store.kind, "none", 0)
    collections = tuple(sorted({record.collection for record in records}))
    return StoreOutcome(store.name, store.kind, "found", len(records), collections, category_labels(datamap, records))


def unavailable_outcome(store: Store, reason: str) -> StoreOutcome:
    return StoreOutcome(store.name, store.kind, "unavailable", 0, reason=reason)


def inventory(datamap: DataMap, records: Iterable[FoundRecord]) -> list[InventoryEntry]:
    """One entry per store and collection holding records: counts and categories."""
    grouped: dict[tuple[str, str], list[FoundRecord]] = {}
    for record in records:
        grouped.setdefault((record.store, record.collection), []).append(record)
    return [
        InventoryEntry(store=store, collection=collection, records=len(items),
                       categories=category_labels(datamap, items))
        for (store, collection), items in sorted(grouped.items())
    ]  # fmt: skip


def record_counts(records: Iterable[FoundRecord]) -> Counter[str]:
    return Counter(record.store for record in records)
