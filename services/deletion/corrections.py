"""Right to correct (§1798.106, §7023): the corrected value goes into every field the data map says holds that
data point (`corrects: <name>`, or a field of that name), in SQL systems of record (through the SQL store
adapter) and at providers; each correction is kept, so a later refresh that brings the old value back is found
and reverted (§7023(k)).

Values are never echoed: events and answers name fields, not values (and §7024(d) fields not even by value hint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from services.common.crypto import KeyShredded, Sealed, Sealer
from services.common.datamap import Collection, DataMap, Field, Store
from services.common.db import UtcDateTime, request_id_column, subject_key_column
from services.common.stores.sql import SqlConnector

metadata = sa.MetaData()
kept_corrections = sa.Table(
    "kept_corrections",
    metadata,
    request_id_column(primary_key=True),
    sa.Column("store", sa.String(200), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("field", sa.String(200), primary_key=True),
    subject_key_column(nullable=False),
    sa.Column("sealed", sa.JSON, nullable=False),  # the identifiers and the corrected value, under the subject's key
    sa.Column("corrected_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Target:
    store: Store
    collection: Collection
    field: Field
    key: str  # the data point the consumer named


@dataclass(frozen=True)
class Corrected:
    store: str
    collection: str
    field: str
    label: str
    records: int  # records of the subject holding the field (the same on every replay)


def corrects(field: Field, key: str) -> bool:
    return (field.corrects or field.name) == key


def targets(datamap: DataMap, keys: list[str], kinds: tuple[str, ...] = ("sql",)) -> list[Target]:
    return [Target(store, collection, field, key) for key in keys for store in datamap.stores if store.kind in kinds
            for collection in store.collections if not collection.shared
            for field in collection.fields if corrects(field, key)]  # fmt: skip


def unknown_keys(datamap: DataMap, keys: list[str]) -> list[str]:
    """Data points the consumer asked to correct that no store holds."""
    return [key for key in keys if not targets(datamap, [key], ("sql", "redis", "jsonl", "http"))]


def provider_corrections(datamap: DataMap, corrections: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Recipient → {collection.field: value} in the provider's own field names."""
    found: dict[str, dict[str, str]] = {}
    for target in targets(datamap, list(corrections), ("http",)):
        if target.store.recipient:
            key = f"{target.collection.name}.{target.field.name}"
            found.setdefault(target.store.recipient, {})[key] = corrections[target.key]
    return found


class CorrectionExecutor:
    """Writes corrections into the SQL systems of record, one transaction per store, through each store's adapter."""

    def __init__(self, datamap: DataMap) -> None:
        self.datamap = datamap
        self._stores: dict[str, SqlConnector] = {}

    def apply(self, identifiers: Mapping[str, frozenset[str]], corrections: Mapping[str, str],
              only: tuple[str, str, str] | None = None, changed_only: bool = False) -> list[Corrected]:  # fmt: skip
        done = []
        by_store: dict[str, list[Target]] = {}
        for target in targets(self.datamap, list(corrections)):
            if only is None or (target.store.name, target.collection.name, target.field.name) == only:
                by_store.setdefault(target.store.name, []).append(target)
        for store_targets in by_store.values():
            store = self._store(store_targets[0].store)
            with store.engine.begin() as conn:
                for target in store_targets:
                    held, stale = store.correct(conn, target.collection, target.field.name, identifiers,
                                                corrections[target.key])  # fmt: skip
                    done.append(Corrected(target.store.name, target.collection.name, target.field.name,
                                          target.field.display_name, stale if changed_only else held))  # fmt: skip
        return done

    def close(self) -> None:
        for store in self._stores.values():
            store.close()

    def _store(self, store: Store) -> SqlConnector:
        if store.name not in self._stores:
            self._stores[store.name] = SqlConnector(self.datamap, store, read_only=False)
        return self._stores[store.name]


class KeptCorrections:
    """Remembers each correction (sealed) and puts it back when a refresh overwrote it."""

    def __init__(self, engine: sa.Engine, sealer: Sealer, executor: CorrectionExecutor) -> None:
        self.engine = engine
        self.sealer = sealer
        self.executor = executor

    def keep(self, conn: sa.Connection, request_id: str, subject_key: str, identifiers: Mapping[str, frozenset[str]],
             corrections: Mapping[str, str], done: list[Corrected]) -> None:  # fmt: skip
        now = datetime.now(UTC)
        for item in done:
            key = next(target.key for target in targets(self.executor.datamap, list(corrections))
                       if (target.store.name, target.collection.name, target.field.name)
                       == (item.store, item.collection, item.field))  # fmt: skip
            document = {"identifiers": {k: sorted(v) for k, v in identifiers.items()}, "key": key,
                        "value": corrections[key]}  # fmt: skip
            sealed = self.sealer.seal(document, subject_key, request_id).to_json()
            table = kept_corrections
            same = (table.c.request_id == request_id, table.c.store == item.store,
                    table.c.collection == item.collection, table.c.field == item.field)  # fmt: skip
            exists = conn.execute(sa.select(table.c.request_id).where(*same)).first()
            if exists is None:
                conn.execute(sa.insert(kept_corrections).values(
                    request_id=request_id, store=item.store, collection=item.collection, field=item.field,
                    subject_key=subject_key, sealed=sealed, corrected_at=now))  # fmt: skip

    def recheck(self) -> list[tuple[Any, Corrected]]:
        """Every kept correction whose value was overwritten since, reverted; returns (row, what was reverted)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(kept_corrections)).all()
        reverted = []
        for row in rows:
            try:
                document = self.sealer.open(Sealed.from_json(row.sealed), row.subject_key, row.request_id)
            except KeyShredded:
                self._forget(row)  # the subject was deleted and its key shredded: nothing is left to keep correct
                continue
            identifiers = {kind: frozenset(values) for kind, values in document["identifiers"].items()}
            only = (row.store, row.collection, row.field)
            corrections = {document["key"]: document["value"]}
            for item in self.executor.apply(identifiers, corrections, only=only, changed_only=True):
                if item.records:
                    reverted.append((row, item))
        return reverted

    def _forget(self, row: Any) -> None:
        table = kept_corrections
        with self.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.request_id == row.request_id, table.c.store == row.store,
                                                table.c.collection == row.collection,
                                                table.c.field == row.field))  # fmt: skip
