"""Adding an entry to its chains on PostgreSQL in one round trip: the chains' lock, then one statement that reads
the previous links, hashes the new ones (`sha256(previous ‖ canonical entry)`, chain.py's rule, in SQL) and inserts.

The lock is a statement of its own: under READ COMMITTED a statement reads the rows committed when it started, so
only a statement after the lock is granted sees the entry another writer added while this one waited. The two go
to the server together in psycopg's pipeline mode; it runs them in order, each with its own snapshot.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from services.audit import orm
from services.audit.chain import GENESIS, Entry, canonical_entry
from services.common.db import UtcDateTime

t = orm.timeline
# The entry placed just before this one in each chain (the last one, unless it arrives late), and whether any is
# placed after it (then those are re-linked).
SOURCE_SCOPE = 'topic = :topic AND "partition" = :partition'
SOURCE_BEFORE = f'SELECT source_hash FROM timeline_entries WHERE {SOURCE_SCOPE} AND "offset" < :offset ' \
                'ORDER BY "offset" DESC LIMIT 1'  # fmt: skip
SOURCE_AFTER = f'SELECT 1 FROM timeline_entries WHERE {SOURCE_SCOPE} AND "offset" > :offset'
REQUEST_PLACE = '(occurred_at, topic, "partition", "offset")'
REQUEST_BEFORE = f"SELECT request_hash FROM timeline_entries WHERE request_id = :request_id AND {REQUEST_PLACE} < " \
                 '(:occurred_at, :topic, :partition, :offset) ORDER BY occurred_at DESC, topic DESC, "partition" ' \
                 'DESC, "offset" DESC LIMIT 1'  # fmt: skip
REQUEST_AFTER = f"SELECT 1 FROM timeline_entries WHERE request_id = :request_id AND {REQUEST_PLACE} > " \
                '(:occurred_at, :topic, :partition, :offset)'  # fmt: skip


def append(conn: sa.Connection, entry: Entry, locks: list[int]) -> list[str] | None:
    """Lock the chains (advisory lock keys), store the entry with its links: the names of the chains it arrived
    late on, None when it was stored already."""
    lock_sql, append_sql = _sql(tuple(entry), entry.get("request_id") is not None, len(locks))
    values = {**entry, "details": json.dumps(entry["details"]), "canonical": canonical_entry(entry)}
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    try:
        with driver.pipeline():
            driver.execute(lock_sql, {f"lock_{number}": key for number, key in enumerate(locks)})
            stored = driver.execute(append_sql, values)
        row = stored.fetchone()
    except psycopg.Error as exc:
        # As SQLAlchemy raises it (OperationalError is transient to the consumer), without the bound values.
        raise sa.exc.DBAPIError.instance(append_sql, None, exc, psycopg.Error, hide_parameters=True,
                                         dialect=conn.dialect) from exc  # fmt: skip
    if row is None:
        return None
    return [name for name, late in zip(("source", "request"), row, strict=True) if late]


@functools.cache
def _sql(fields: tuple[str, ...], on_request: bool, locks: int) -> tuple[str, str]:
    """The lock and the append statement in psycopg's placeholder style, compiled once."""
    keys = (sa.bindparam(f"lock_{number}", type_=sa.BigInteger) for number in range(locks))
    lock = sa.select(*(sa.func.pg_advisory_xact_lock(key) for key in keys))
    dialect = psycopg_dialect()  # type: ignore[no-untyped-call]
    return str(lock.compile(dialect=dialect)), str(_statement(fields, on_request).compile(dialect=dialect))


def _link(previous: str) -> str:
    return f"encode(sha256(decode({previous}, 'hex') || :canonical), 'hex')"


@functools.cache
def _statement(fields: tuple[str, ...], on_request: bool) -> sa.TextClause:
    """The append statement of entries with these fields, with or without a request chain."""
    request = (f"coalesce(({REQUEST_BEFORE}), '{GENESIS}')", f"EXISTS ({REQUEST_AFTER})") if on_request \
        else ("NULL::varchar", "false")  # fmt: skip
    request_hash = _link("request_prev") if on_request else "NULL"
    columns = ", ".join(f'"{name}"' for name in fields)
    values = ", ".join(f":{name}" for name in fields)
    sql = f"""
        WITH previous AS (
            SELECT coalesce(({SOURCE_BEFORE}), '{GENESIS}') AS source_prev, EXISTS ({SOURCE_AFTER}) AS source_late,
                   {request[0]} AS request_prev, {request[1]} AS request_late
        ), stored AS (
            INSERT INTO timeline_entries ({columns}, source_prev, source_hash, request_prev, request_hash)
            SELECT {values}, source_prev, {_link("source_prev")}, request_prev, {request_hash} FROM previous
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
        )
        SELECT source_late, request_late FROM stored, previous
    """
    types: dict[str, Any] = {"details": sa.JSON(), "occurred_at": UtcDateTime(), "canonical": sa.LargeBinary()}
    parameters = [sa.bindparam(name, type_=types.get(name, t.c[name].type if name in t.c else None))
                  for name in (*fields, "canonical")]  # fmt: skip
    return sa.text(sql).bindparams(*parameters)
