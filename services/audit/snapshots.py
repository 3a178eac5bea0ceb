"""Audit's compacted snapshot: each key's rows (a request's §7101 record and chained entries, an entry about no
request, a signed purge statement) in a versioned, typed value, built from the database and restored verbatim.

Keys: `request:<request_id>` (a request's record and whole timeline change together), `entry:<event_id>` (an entry
about no request never changes but for its source links, and is purged on its own), `purge:<digest>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

import rfc8785
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, model_validator

from services.audit import orm, recipients, tallies
from services.audit.chain import digest
from services.audit.links import REQUEST
from services.common.db import insert_for
from services.common.inbox import claim

FORMAT: Literal["ccpa-audit-snapshot/1"] = "ccpa-audit-snapshot/1"
t = orm.timeline
BATCH = 200


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntryRow(Row):
    """A timeline entry as stored, with both chains' links (orm.timeline)."""

    event_id: str
    request_id: str | None
    subject_key: str
    event_type: str
    occurred_at: datetime
    producer: str
    topic: str
    partition: int
    offset: int
    details: dict[str, Any]
    source_prev: str | None
    source_hash: str | None
    request_prev: str | None
    request_hash: str | None


class RecordRow(Row):
    """A request's §7101 record (orm.request_records)."""

    request_id: str
    subject_key: str
    request_type: str | None
    requested_type: str | None
    channel: str | None
    received_at: datetime | None
    respond_by: datetime | None
    extended_respond_by: datetime | None
    extended_at: datetime | None
    responded_at: datetime | None
    response_nature: str | None
    denial_code: str | None
    denial_basis: str | None
    # The §7101 evidence (migration 0004); defaults keep a value written before it readable.
    verification_level: str | None = None
    authorized_agent: bool | None = None
    agent_name: str | None = None
    agent_permission_reference: str | None = None
    declaration_signed: bool | None = None
    declaration_signed_at: datetime | None = None
    declaration_text_version: str | None = None
    # Review before send and the queue's stored facts (migration 0006).
    review_required: bool | None = None
    completed_at: datetime | None = None
    completed_nature: str | None = None
    denied_at: datetime | None = None
    denied_nature: str | None = None
    denied_code: str | None = None
    denied_basis: str | None = None
    review_state: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    due_at: datetime | None = None
    answered: bool = False
    awaiting_review: bool = False
    subject_type: str | None = None  # migration 0007: whose request (None: written before it, a consumer's)

    @model_validator(mode="after")
    def _written_before_0006(self) -> RecordRow:
        """A value written before migration 0006 has its answer in the response columns alone: keep them as the
        facts they came from, and the due date and queue flags the migration derives."""
        if self.due_at is None:
            facts = _facts_before_0006(self)
            return self.model_copy(update=facts) if facts else self
        return self


def _facts_before_0006(row: RecordRow) -> dict[str, Any]:
    facts: dict[str, Any] = {"due_at": row.extended_respond_by or row.respond_by,
                             "answered": row.responded_at is not None}  # fmt: skip
    if row.response_nature is not None and row.response_nature.startswith("denied"):
        facts |= {"denied_at": row.responded_at, "denied_nature": row.response_nature,
                  "denied_code": row.denial_code, "denied_basis": row.denial_basis}  # fmt: skip
    elif row.responded_at is not None:
        facts |= {"completed_at": row.responded_at, "completed_nature": row.response_nature}
    return facts if facts["due_at"] is not None else {}


class PurgeRow(Row):
    """A signed purge statement (orm.chain_purges)."""

    digest: str
    chain: str
    body: str
    signature: str
    purged_at: datetime


class Snapshot(Row):
    """One key's value on the snapshot topic."""

    format: Literal["ccpa-audit-snapshot/1"] = FORMAT
    key: str
    record: RecordRow | None = None
    entries: list[EntryRow] = []
    purge: PurgeRow | None = None

    def encode(self) -> bytes:
        return rfc8785.dumps(self.model_dump(mode="json"))

    @property
    def digest(self) -> str:
        return digest(self.encode())


def request_key(request_id: str) -> str:
    return f"request:{request_id}"


def entry_key(event_id: str) -> str:
    return f"entry:{event_id}"


def purge_key(purge_digest: str) -> str:
    return f"purge:{purge_digest}"


def build(conn: sa.Connection, keys: Iterable[str]) -> Iterator[Snapshot]:
    """The current value of each key that still has rows (a purged key has none)."""
    by_kind: dict[str, list[str]] = {"request": [], "entry": [], "purge": []}
    for key in keys:
        kind, _, name = key.partition(":")
        by_kind[kind].append(name)
    for batch in _batches(by_kind["request"]):
        yield from _requests(conn, batch)
    for batch in _batches(by_kind["entry"]):
        rows = conn.execute(sa.select(t).where(t.c.event_id.in_(batch), t.c.request_id.is_(None))).mappings()
        yield from (Snapshot(key=entry_key(row["event_id"]), entries=[EntryRow(**row)]) for row in rows)
    for batch in _batches(by_kind["purge"]):
        rows = conn.execute(sa.select(orm.chain_purges).where(orm.chain_purges.c.digest.in_(batch))).mappings()
        yield from (Snapshot(key=purge_key(row["digest"]), purge=PurgeRow(**row)) for row in rows)


def _requests(conn: sa.Connection, request_ids: list[str]) -> Iterator[Snapshot]:
    records = orm.request_records
    found = {row["request_id"]: RecordRow(**row) for row in
             conn.execute(sa.select(records).where(records.c.request_id.in_(request_ids))).mappings()}  # fmt: skip
    entries: dict[str, list[EntryRow]] = {}
    for row in conn.execute(sa.select(t).where(t.c.request_id.in_(request_ids)).order_by(*REQUEST.ordered())):
        entries.setdefault(row.request_id, []).append(EntryRow(**row._mapping))
    for request_id in request_ids:
        if request_id in found or request_id in entries:
            yield Snapshot(key=request_key(request_id), record=found.get(request_id),
                           entries=entries.get(request_id, []))  # fmt: skip


def restore(conn: sa.Connection, snapshot: Snapshot, consumer: str) -> int:
    """Insert a snapshot's rows as they were (links included) and claim its entries for `consumer`, so a replay
    of the same events skips them; returns the entries restored."""
    for entry in snapshot.entries:
        if claim(conn, orm.inbox, consumer, entry.event_id):
            _insert(conn, orm.timeline, ["event_id"], entry)
            recipients.apply(conn, entry.event_type, entry.request_id, entry.occurred_at, entry.details)
    if snapshot.record is not None and _insert(conn, orm.request_records, ["request_id"], snapshot.record):
        tallies.move(conn, None, tallies.counted_of(snapshot.record))
    if snapshot.purge is not None:
        _insert(conn, orm.chain_purges, ["digest"], snapshot.purge)
    return len(snapshot.entries)


def mark_published(conn: sa.Connection, marks: Sequence[tuple[str, str]], now: datetime) -> None:
    """Remember each key's published digest (the snapshotter publishes a key again only when it changes)."""
    if not marks:
        return
    insert = insert_for(conn, orm.snapshot_keys)
    upsert = insert.on_conflict_do_update(index_elements=["key"], set_={
        "digest": insert.excluded.digest, "published_at": insert.excluded.published_at})  # fmt: skip
    conn.execute(upsert, [{"key": key, "digest": value_digest, "published_at": now} for key, value_digest in marks])


def published(conn: sa.Connection, keys: Sequence[str]) -> dict[str, str]:
    """key -> digest of its last published value."""
    marks = orm.snapshot_keys
    found: dict[str, str] = {}
    for batch in _batches(list(keys)):
        found |= {row.key: row.digest for row in conn.execute(sa.select(marks).where(marks.c.key.in_(batch)))}
    return found


def _insert(conn: sa.Connection, table: sa.Table, keys: list[str], row: Row) -> bool:
    """Insert the row unless its key is there already; whether it was inserted."""
    insert = insert_for(conn, table).values(**row.model_dump()).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(insert.returning(table.c[keys[0]])).first() is not None


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
