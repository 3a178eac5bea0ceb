"""The specific-pieces part (§1798.110(a)(5)): records grouped store → collection → record, §7024(d) values withheld."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.common.datamap import WITHHELD_KINDS, Collection, DataMap, Field, Store
from services.common.stores.base import FoundRecord
from services.discovery.report.model import CollectionPieces, Piece, RecordPieces, StorePieces, Withheld, iso
from services.discovery.report.values import Scrubber, has_value, normalise


@dataclass(frozen=True)
class Located:
    """A found record with the data map entries that describe it."""

    store: Store
    collection: Collection
    record: FoundRecord

    def held(self) -> tuple[Field, ...]:
        values = self.record.values
        return tuple(f for f in self.collection.fields if f.name in values and has_value(values[f.name]))


def locate(datamap: DataMap, record: FoundRecord) -> Located:
    store = datamap.store(record.store)
    collection = store.collection(record.collection) if store else None
    if store is None or collection is None:
        raise ValueError(f"record from {record.store}/{record.collection}, which the data map does not describe")
    return Located(store, collection, record)


def scrubber(located: Iterable[Located]) -> Scrubber:
    return Scrubber(item.record.values[f.name] for item in located for f in item.held() if f.withheld)


def withheld(datamap: DataMap, located: Sequence[Located]) -> tuple[Withheld, ...]:
    held = {(item.store.name, item.collection.name, f.withheld) for item in located for f in item.held() if f.withheld}
    return tuple(
        _withheld(store, collection, kind)
        for store in datamap.stores
        for collection in store.collections
        for kind in dict.fromkeys(f.withheld for f in collection.fields if f.withheld)
        if (store.name, collection.name, kind) in held
    )


def _withheld(store: Store, collection: Collection, kind: str) -> Withheld:
    name = WITHHELD_KINDS[kind]
    statement = f"We hold your {name} ({store.name}/{collection.name}); it is not shown for your security (§7024(d))."
    return Withheld(kind, name, store.name, collection.name, statement)


REFERENCED = "Referenced by your records and shared with other people (not personal information about you alone)"


def stores(datamap: DataMap, located: Sequence[Located], scrub: Scrubber) -> tuple[StorePieces, ...]:
    return tuple(
        StorePieces(store.name, store.description, collections)
        for store in datamap.stores
        if (collections := _collections(store, located, scrub))
    )


def _collections(store: Store, located: Sequence[Located], scrub: Scrubber) -> tuple[CollectionPieces, ...]:
    grouped = []
    for collection in store.collections:
        mine = [item for item in located if (item.store.name, item.collection.name) == (store.name, collection.name)]
        if mine:
            records = tuple(sorted((_record(item, scrub) for item in mine), key=_order))
            grouped.append(CollectionPieces(collection.name, _described(collection), records))
    return tuple(grouped)


def _described(collection: Collection) -> str | None:
    """A shared collection (products, employees) is shown as data your records refer to, not data about you."""
    if not collection.shared:
        return collection.description
    return f"{REFERENCED}: {collection.description}" if collection.description else REFERENCED


def _record(item: Located, scrub: Scrubber) -> RecordPieces:
    pieces = tuple(_piece(f, item.record.values[f.name], scrub) for f in item.held())
    return RecordPieces(scrub.text(item.record.locator), item.record.occurred_at, pieces)


def _piece(field: Field, value: object, scrub: Scrubber) -> Piece:
    if field.withheld:
        return Piece(field.name, field.display_name, field.category, None, field.withheld)
    return Piece(field.name, field.display_name, field.category, scrub.value(normalise(value)), None)


def _order(record: RecordPieces) -> tuple[bool, str, str]:
    """Current profile data (no timestamp) first, then oldest to newest; the locator breaks ties."""
    moment = record.occurred_at
    return (moment is not None, iso(moment) if moment else "", record.record)
