"""The statements the SQL adapter writes with: rows deleted or updated by primary key (erasure, opt-out flags) and
a field set where the subject's rows differ (corrections). Every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.common.stores.values import batched

Key = tuple[Any, ...]


def delete_rows(conn: sa.Connection, table: sa.Table, key_columns: tuple[str, ...], keys: Sequence[Key],
                batch_size: int) -> None:  # fmt: skip
    key = _key(table, key_columns)
    for batch in batched(keys, batch_size):
        values = [item[0] for item in batch] if len(key_columns) == 1 else list(batch)
        conn.execute(sa.delete(table).where(key.in_(values)))


def update_rows(conn: sa.Connection, table: sa.Table, key_columns: tuple[str, ...],
                updates: Sequence[tuple[Key, dict[str, Any]]]) -> None:  # fmt: skip
    """One executemany per set of changed columns."""
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_key, new in updates:
        params = {f"erase_key_{i}": value for i, value in enumerate(row_key)}
        params |= {f"erase_value_{name}": value for name, value in new.items()}
        by_fields.setdefault(tuple(sorted(new)), []).append(params)
    for names, params_list in by_fields.items():
        statement = (sa.update(table)
                     .where(*(table.c[name] == sa.bindparam(f"erase_key_{i}") for i, name in enumerate(key_columns)))
                     .values({name: sa.bindparam(f"erase_value_{name}") for name in names}))  # fmt: skip
        conn.execute(statement, params_list)


def correct(conn: sa.Connection, table: sa.Table, column: sa.Column[Any], subject: sa.ColumnElement[bool],
            new_value: Any) -> tuple[int, int]:  # fmt: skip
    """Set `column` to `new_value` in the subject's rows: (the subject's rows, those whose value differed)."""
    differs = column.is_distinct_from(new_value)
    held = conn.execute(sa.select(sa.func.count()).select_from(table).where(subject)).scalar_one()
    stale = conn.execute(sa.select(sa.func.count()).select_from(table).where(subject, differs)).scalar_one()
    conn.execute(sa.update(table).where(subject, differs).values({column.name: new_value}))
    return held, stale


def _key(table: sa.Table, key_columns: tuple[str, ...]) -> sa.ColumnElement[Any]:
    if len(key_columns) == 1:
        return table.c[key_columns[0]]
    return sa.tuple_(*(table.c[name] for name in key_columns))
