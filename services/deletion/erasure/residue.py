"""What an erasure leaves in a SQL store's files, removed after each batch: SQLite's write-ahead log is checkpointed
and truncated (secure_delete has zeroed the rows in the pages); PostgreSQL and MariaDB tables the batch changed get
an optional VACUUM or OPTIMIZE TABLE. What each does and does not guarantee: docs/deletion.md, "Bytes on disk".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from services.common.stores.sql_connect import quoted_tables, sql_engine


@dataclass(frozen=True)
class Vacuum:
    """Maintenance of server databases after an erasure batch; off unless enabled (see docs/deletion.md)."""

    enabled: bool = False
    timeout_seconds: float = 600.0


NO_VACUUM = Vacuum()


class ResidueLeft(Exception):
    """The erased rows are gone from every query, but old bytes of them may stay in the store's files for now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def purge(engine: sa.Engine, tables: Iterable[sa.Table], vacuum: Vacuum) -> None:
    """Remove what the erasures left in the files, as far as the dialect allows; ResidueLeft when it could not."""
    changed = sorted(set(tables), key=lambda table: table.fullname)
    dialect = engine.dialect.name
    if dialect == "sqlite":
        checkpoint(engine)
    elif changed and vacuum.enabled and dialect in ("postgresql", "mysql", "mariadb"):
        maintained = sql_engine(engine.url.render_as_string(hide_password=False), vacuum.timeout_seconds, False)
        try:
            with maintained.connect() as conn:
                autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
                (vacuum_postgres if dialect == "postgresql" else optimize_mariadb)(autocommit, changed)
        finally:
            maintained.dispose()


def checkpoint(engine: sa.Engine) -> None:
    """Copy the WAL into the database file and truncate it to zero bytes: its frames hold the pages as they were
    before the erasure (rows deleted since, values de-identified since)."""
    with engine.connect() as conn:
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        busy, _frames, _copied = autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        raise ResidueLeft("the write-ahead log is in use by another connection; its old pages stay until the next "
                          "erasure's checkpoint")  # fmt: skip


def vacuum_postgres(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Plain VACUUM (no exclusive lock): dead row versions are removed from heap and indexes."""
    conn.exec_driver_sql(f"VACUUM {', '.join(quoted_tables(conn, tables))}")


def optimize_mariadb(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """OPTIMIZE TABLE: InnoDB rebuilds the table (online), leaving no freed record in the new tablespace."""
    rows = conn.exec_driver_sql(f"OPTIMIZE TABLE {', '.join(quoted_tables(conn, tables))}").all()
    errors = [str(row[3])[:120] for row in rows if str(row[2]).lower() == "error"]
    if errors:
        raise ResidueLeft(f"OPTIMIZE TABLE failed: {'; '.join(errors)}")
