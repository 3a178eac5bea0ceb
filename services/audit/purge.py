"""The purge: removes the closed requests and request-less entries past retention (services/audit/retention.py),
and signs a statement of each gap it leaves in a chain, so verify tells a purge from a deletion."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import rfc8785
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import orm, retention, snapshots, tallies
from services.audit.chain import digest, instant
from services.audit.links import REQUEST
from services.common.db import insert_for

t = orm.timeline
BATCH = 500


@dataclass
class Purged:
    """What one purge removed, and the snapshot keys whose values are gone (to tombstone)."""

    requests: int = 0
    entries: int = 0
    statements: int = 0
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Doomed:
    event_id: str
    request_id: str | None
    topic: str
    partition: int
    offset: int


def purge(conn: sa.Connection, key: Ed25519PrivateKey, now: datetime, retention_days: int) -> Purged:
    """Remove what is past retention at `now`, in this transaction, with the signed statements of its gaps."""
    before = retention.cutoff(now, retention_days)
    request_ids = retention.purgeable(_closed_request_ages(conn, before), before)
    doomed = [*_entries_of(conn, request_ids), *_loose_entries(conn, before)]
    if not doomed and not request_ids:
        return Purged()
    stamp = instant(now)
    bodies = [*_source_statements(conn, doomed, stamp), *_request_statements(conn, request_ids, stamp)]
    for body in bodies:
        _sign(conn, key, body, now)
    event_ids = [entry.event_id for entry in doomed]
    keys = [snapshots.request_key(r) for r in request_ids] + [
        snapshots.entry_key(e.event_id) for e in doomed if e.request_id is None]  # fmt: skip
    _delete(conn, t, t.c.event_id, event_ids)
    _delete(conn, orm.inbox, orm.inbox.c.event_id, event_ids)
    tallies.forget(conn, request_ids)
    _delete(conn, orm.request_records, orm.request_records.c.request_id, request_ids)
    _delete(conn, orm.recipient_instructions, orm.recipient_instructions.c.request_id, request_ids)
    _delete(conn, orm.snapshot_keys, orm.snapshot_keys.c.key, keys)
    _purge_clocks(conn, request_ids)
    return Purged(len(request_ids), len(doomed), len(bodies), keys)


def _purge_clocks(conn: sa.Connection, request_ids: list[str]) -> None:
    """The deadline watch's clocks of the purged requests and what it announced of them (the events went with the
    timeline)."""
    clocks = orm.deadline_clocks
    for start in range(0, len(request_ids), 500):
        batch = request_ids[start : start + 500]
        of_batch = sa.select(clocks.c.clock_id).where(clocks.c.request_id.in_(batch))
        conn.execute(sa.delete(orm.deadline_announcements).where(orm.deadline_announcements.c.clock_id.in_(of_batch)))
        conn.execute(sa.delete(clocks).where(clocks.c.request_id.in_(batch)))


def _closed_request_ages(conn: sa.Connection, before: datetime) -> Iterator[retention.RequestAge]:
    records = orm.request_records
    last = sa.select(t.c.request_id, sa.func.max(t.c.occurred_at).label("last_entry_at")).where(
        t.c.request_id.is_not(None)).group_by(t.c.request_id).subquery()  # fmt: skip
    rows = conn.execute(
        sa.select(records.c.request_id, records.c.responded_at, last.c.last_entry_at)
        .join(last, last.c.request_id == records.c.request_id)
        .where(records.c.responded_at.is_not(None), last.c.last_entry_at < before)
    )
    for row in rows:
        yield retention.RequestAge(row.request_id, row.responded_at, row.last_entry_at)


def _entries_of(conn: sa.Connection, request_ids: list[str]) -> Iterator[Doomed]:
    for batch in _batches(request_ids):
        yield from _doomed(conn, t.c.request_id.in_(batch))


def _loose_entries(conn: sa.Connection, before: datetime) -> Iterator[Doomed]:
    return _doomed(conn, sa.and_(t.c.request_id.is_(None), t.c.occurred_at < before))


def _doomed(conn: sa.Connection, where: sa.ColumnElement[bool]) -> Iterator[Doomed]:
    columns = (t.c.event_id, t.c.request_id, t.c.topic, t.c.partition, t.c.offset)
    for row in conn.execute(sa.select(*columns).where(where)):
        yield Doomed(row.event_id, row.request_id, row.topic, row.partition, row.offset)


def _source_statements(conn: sa.Connection, doomed: list[Doomed], stamp: str) -> Iterator[dict[str, Any]]:
    by_chain: dict[tuple[str, int], list[Doomed]] = {}
    for entry in doomed:
        by_chain.setdefault((entry.topic, entry.partition), []).append(entry)
    for (topic, partition), entries in sorted(by_chain.items()):
        offsets = [entry.offset for entry in entries]
        rows = conn.execute(
            sa.select(t.c.event_id, t.c.offset, t.c.source_prev, t.c.source_hash)
            .where(t.c.topic == topic, t.c.partition == partition, t.c.offset.between(min(offsets), max(offsets)))
            .order_by(t.c.offset)
        )
        chain = [retention.SourceLink(r.event_id, r.offset, str(r.source_prev), str(r.source_hash)) for r in rows]
        for gap in retention.gaps(chain, {entry.event_id for entry in entries}):
            yield retention.source_statement(topic, partition, gap, stamp)


def _request_statements(conn: sa.Connection, request_ids: list[str], stamp: str) -> Iterator[dict[str, Any]]:
    for batch in _batches(request_ids):
        heads: dict[str, list[str]] = {}
        rows = conn.execute(sa.select(t.c.request_id, t.c.request_hash).where(t.c.request_id.in_(batch))
                            .order_by(*REQUEST.ordered()))  # fmt: skip
        for row in rows:
            heads.setdefault(row.request_id, []).append(str(row.request_hash))
        for request_id, links in sorted(heads.items()):
            yield retention.request_statement(request_id, links[-1], len(links), stamp)


def _sign(conn: sa.Connection, key: Ed25519PrivateKey, body: dict[str, Any], now: datetime) -> None:
    canonical = rfc8785.dumps(body)
    signature = base64.b64encode(key.sign(canonical)).decode()
    statement = insert_for(conn, orm.chain_purges).values(
        digest=digest(canonical), chain=body["chain"], body=canonical.decode(), signature=signature, purged_at=now
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=["digest"]))


def _delete(conn: sa.Connection, table: sa.Table, column: sa.Column[Any], values: list[str]) -> None:
    for batch in _batches(values):
        conn.execute(sa.delete(table).where(column.in_(batch)))


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
