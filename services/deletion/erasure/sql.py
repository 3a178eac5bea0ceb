"""SQL erasure: one transaction per store; matched rows found as discovery finds them (bound IN lists of converted
values), then deleted or updated by primary key, children before parents so foreign keys hold. After a batch,
`purge` removes what the changes left in the store's files (residue.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.common.datamap.model import DataMap, Store
from services.common.stores.sql import Key, SqlConnector, failure_reason, primary_key_columns
from services.common.stores.values import occurred_at
from services.deletion.erasure.outcome import ErasureError, OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, FieldMask, StorePlan
from services.deletion.erasure.residue import NO_VACUUM, ResidueLeft, Vacuum, purge
from services.deletion.erasure.strategies import masked_values


@dataclass
class _Change:
    table: sa.Table
    key_columns: tuple[str, ...]
    deletes: list[Key] = field(default_factory=list)
    updates: list[tuple[Key, dict[str, Any]]] = field(default_factory=list)


class SqlEraser:
    def __init__(self, datamap: DataMap, store: Store, hmac_key: bytes, vacuum: Vacuum = NO_VACUUM) -> None:
        self.datamap = datamap
        self.store = store
        self.hmac_key = hmac_key
        self.vacuum = vacuum
        self.connector = SqlConnector(datamap, store, read_only=False)
        self._changed: set[sa.Table] = set()  # tables changed since the last purge

    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome:
        tally = OutcomeTally(self.store.name)
        try:
            with self.connector.failures_as_unavailable(), self.connector.engine.connect() as conn, \
                    conn.begin() as transaction:  # fmt: skip
                changes = [self._classify(conn, step, plan.now, tally) for step in plan.steps]
                if dry_run:
                    transaction.rollback()
                    return tally.outcome()
                outcome = settle(tally.outcome())
                for change in changes:
                    self.connector.erase(conn, change.table, change.key_columns, change.deletes, change.updates)
                self._changed.update(change.table for change in changes if change.deletes or change.updates)
            return outcome
        except sa.exc.IntegrityError as exc:
            reason = f"the database refused the erasure ({failure_reason(exc)}); check the data map's references " \
                "and strategies against its constraints"  # fmt: skip
            raise ErasureError(self.store.name, reason) from None

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) of every identifying column of every table, for reapplying the ledger after a restore."""
        return self.connector.identifier_values()

    def purge(self) -> None:
        """Remove the old bytes of what was erased since the last purge from the store's files (see residue.py)."""
        changed, self._changed = self._changed, set()
        try:
            purge(self.connector.engine, changed, self.vacuum)
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
            raise ResidueLeft(failure_reason(exc)) from None

    def close(self) -> None:
        self.connector.close()

    def _classify(self, conn: sa.Connection, step: CollectionStep, now: datetime, tally: OutcomeTally) -> _Change:
        collection = step.collection
        table = self.connector.table(conn, collection)
        key_columns = primary_key_columns(table, collection)
        if not key_columns:
            raise ErasureError(self.store.name, f"table {collection.name!r} has no primary key in the database or "
                               "the data map; give `primary_key` so rows can be erased one by one")  # fmt: skip
        step = replace(step, masks=tuple(mask for mask in step.masks if mask.field not in key_columns))
        self._check_masks(table, collection.name, step.masks)
        change = _Change(table, key_columns)
        for key, raw in self._matched_rows(table, conn, step).items():
            action, until = step.disposition(occurred_at(collection, raw), now)
            tally.add(collection.name, action)
            if action == "retained" and step.retention:
                tally.exempted(collection.name, step.retention.exemption, step.retention.statute, until)
            if action == "deleted":
                change.deletes.append(key)
            elif new := _changed(table, masked_values(step.masks, raw, self.hmac_key), raw):
                change.updates.append((key, new))
        return change

    def _matched_rows(self, table: sa.Table, conn: sa.Connection, step: CollectionStep) -> dict[Key, dict[str, Any]]:
        for target in step.match:
            if target.field.name not in table.c:
                raise ErasureError(self.store.name, f"table {step.collection.name!r} has no column "
                                   f"{target.field.name!r} named in the data map")  # fmt: skip
        names = [*(mask.field for mask in step.masks), step.collection.timestamp_field or ""]
        return self.connector.matched_rows(conn, step.collection, names, step.match)

    def _check_masks(self, table: sa.Table, name: str, masks: tuple[FieldMask, ...]) -> None:
        for mask in masks:
            column = table.c.get(mask.field)
            problem = _mask_problem(column, mask)
            if problem:
                raise ErasureError(self.store.name, f"{name}.{mask.field}: {problem}")


def _mask_problem(column: sa.Column[Any] | None, mask: FieldMask) -> str | None:
    if column is None:
        return "no such column, yet the data map gives it a deletion strategy"
    if mask.strategy == "null" and not column.nullable:
        return "the column is NOT NULL; strategy null cannot apply (use delete, rewrite or hash)"
    if mask.strategy != "null" and not isinstance(column.type, sa.String):
        return f"strategy {mask.strategy} writes text, but the column is {column.type}"
    return None


def _changed(table: sa.Table, new: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The masked values that differ from the row's, cut to the column's length (hex digests fit in any text)."""
    changed = {}
    for name, value in new.items():
        length = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and length:
            value = value[:length]
        if value != raw.get(name):
            changed[name] = value
    return changed
