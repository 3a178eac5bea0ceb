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
from services.common.stores.base import StoreUnavailable
from services.common.stores.sql import BATCH_SIZE, SqlConnector, failure_reason, matching_rows, primary_key_columns
from services.common.stores.values import batched, identifier_values, occurred_at, searched_collections
from services.deletion.erasure.outcome import ErasureError, OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, FieldMask, StorePlan
from services.deletion.erasure.residue import NO_VACUUM, ResidueLeft, Vacuum, purge
from services.deletion.erasure.strategies import masked_values

Key = tuple[Any, ...]
SCAN_BATCH = 5000


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
            with self.connector.engine.connect() as conn, conn.begin() as transaction:
                changes = [self._classify(conn, step, plan.now, tally) for step in plan.steps]
                if dry_run:
                    transaction.rollback()
                    return tally.outcome()
                outcome = settle(tally.outcome())
                for change in changes:
                    _apply(conn, change)
                self._changed.update(change.table for change in changes if change.deletes or change.updates)
            return outcome
        except sa.exc.NoSuchTableError as exc:
            raise StoreUnavailable(self.store.name, f"table {exc.args[0]!r} named in the data map does not exist") \
                from None  # fmt: skip
        except sa.exc.IntegrityError as exc:
            reason = f"the database refused the erasure ({failure_reason(exc)}); check the data map's references " \
                "and strategies against its constraints"  # fmt: skip
            raise ErasureError(self.store.name, reason) from None
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(self.store.name, failure_reason(exc)) from None

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) of every identifying column of every table, for reapplying the ledger after a restore."""
        try:
            with self.connector.engine.connect() as conn:
                for collection in searched_collections(self.store):
                    table = self.connector._table(conn, collection)
                    for data_field in collection.fields:
                        kind = self.datamap.identifier_kind(self.store, collection, data_field)
                        if kind and data_field.name in table.c:
                            yield from _distinct_values(conn, table.c[data_field.name], kind)
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(self.store.name, failure_reason(exc)) from None

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
        table = self.connector._table(conn, collection)
        key_columns = primary_key_columns(table, collection)
        if not key_columns:
            raise ErasureError(self.store.name, f"table {collection.name!r} has no primary key in the database or "
                               "the data map; give `primary_key` so rows can be erased one by one")  # fmt: skip
        step = replace(step, masks=tuple(mask for mask in step.masks if mask.field not in key_columns))
        self._check_masks(table, collection.name, step.masks)
        change = _Change(table, key_columns)
        for key, raw in self._matched_rows(conn, table, step, key_columns).items():
            action, until = step.disposition(occurred_at(collection, raw), now)
            tally.add(collection.name, action)
            if action == "retained" and step.retention:
                tally.exempted(collection.name, step.retention.exemption, step.retention.statute, until)
            if action == "deleted":
                change.deletes.append(key)
            elif new := _changed(table, masked_values(step.masks, raw, self.hmac_key), raw):
                change.updates.append((key, new))
        return change

    def _matched_rows(self, conn: sa.Connection, table: sa.Table, step: CollectionStep,
                      key_columns: tuple[str, ...]) -> dict[Key, dict[str, Any]]:  # fmt: skip
        names = [*key_columns, *(mask.field for mask in step.masks), step.collection.timestamp_field]
        selected = dict.fromkeys(name for name in names if name and name in table.c)
        columns: list[sa.ColumnElement[Any]] = [table.c[name] for name in selected]
        rows: dict[Key, dict[str, Any]] = {}
        folded = self.connector.case_insensitive_columns(conn, step.collection)
        for target in step.match:
            if target.field.name not in table.c:
                raise ErasureError(self.store.name, f"table {step.collection.name!r} has no column "
                                   f"{target.field.name!r} named in the data map")  # fmt: skip
            for raw in matching_rows(conn, table, columns, target, folded):
                rows.setdefault(tuple(raw[name] for name in key_columns), raw)
        return rows

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


def _apply(conn: sa.Connection, change: _Change) -> None:
    table, key_columns = change.table, change.key_columns
    key: sa.ColumnElement[Any] = (table.c[key_columns[0]] if len(key_columns) == 1
                                  else sa.tuple_(*(table.c[name] for name in key_columns)))  # fmt: skip
    for batch in batched(change.deletes, BATCH_SIZE):
        values = [item[0] for item in batch] if len(key_columns) == 1 else list(batch)
        conn.execute(sa.delete(table).where(key.in_(values)))
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_key, new in change.updates:
        params = {f"erase_key_{i}": value for i, value in enumerate(row_key)}
        params |= {f"erase_value_{name}": value for name, value in new.items()}
        by_fields.setdefault(tuple(sorted(new)), []).append(params)
    for names, params_list in by_fields.items():
        statement = (sa.update(table)
                     .where(*(table.c[name] == sa.bindparam(f"erase_key_{i}") for i, name in enumerate(key_columns)))
                     .values({name: sa.bindparam(f"erase_value_{name}") for name in names}))  # fmt: skip
        conn.execute(statement, params_list)


def _distinct_values(conn: sa.Connection, column: sa.Column[Any], kind: str) -> Iterator[tuple[str, str]]:
    query = sa.select(column).where(column.is_not(None)).distinct()
    for value in conn.execution_options(yield_per=SCAN_BATCH).scalars(query):
        for text in identifier_values(kind, value):
            yield kind, text
