"""Keeps the two chains of a new timeline entry: its source partition's (offset order) and its request's (timeline
order). Both orders are fixed by the topics, so any arrival order, live or in a rebuild, ends with the same links.

The usual case costs one indexed read of both chains' last entries; only an entry arriving before one already
placed (a slower topic, a rebuild reading partitions side by side) re-links the entries after it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.audit import append, orm
from services.audit.chain import GENESIS, Entry, canonical_entry, link
from services.common.db import insert_for

t = orm.timeline


@dataclass(frozen=True)
class ChainKind:
    """One kind of chain: which entries share a chain, the order inside it, and the columns holding its links."""

    name: str
    scope: tuple[str, ...]
    order: tuple[str, ...]
    previous: str
    hash: str

    def members(self, entry: Entry) -> sa.ColumnElement[bool]:
        return sa.and_(*(t.c[column] == entry[column] for column in self.scope))

    def key(self) -> sa.Tuple:
        return sa.tuple_(*(t.c[column] for column in self.order))

    def place(self, entry: Entry) -> tuple[Any, ...]:
        return tuple(entry[column] for column in self.order)

    def ordered(self) -> list[sa.ColumnElement[Any]]:
        return [t.c[column] for column in (*self.scope, *self.order)]


SOURCE = ChainKind("source", ("topic", "partition"), ("offset",), "source_prev", "source_hash")
REQUEST = ChainKind("request", ("request_id",), ("occurred_at", "topic", "partition", "offset"),
                    "request_prev", "request_hash")  # fmt: skip


def chains_of(entry: Entry) -> Sequence[ChainKind]:
    return (SOURCE, REQUEST) if entry.get("request_id") else (SOURCE,)


def store(conn: sa.Connection, entry: Entry) -> None:
    """Insert a new timeline entry with its links (nothing when it is stored already) and re-link, in each chain it
    arrived late on, the entries after it. PostgreSQL reads, links and inserts in one statement (append.py)."""
    if conn.dialect.name == "postgresql":
        late_names = append.append(conn, entry, [_lock_key(chain, entry) for chain in chains_of(entry)])
        if late_names is None:
            return
        late = [chain for chain in chains_of(entry) if chain.name in late_names]
    else:
        columns, late = links_for(conn, entry)
        insert = insert_for(conn, t).values(**entry, **columns).on_conflict_do_nothing(index_elements=["event_id"])
        # RETURNING, not rowcount: drivers report -1 for INSERT ... ON CONFLICT (the inbox does the same).
        if conn.execute(insert.returning(t.c.event_id)).first() is None:
            return
    relink_after(conn, entry, late)


def links_for(conn: sa.Connection, entry: Entry) -> tuple[dict[str, str], list[ChainKind]]:
    """The link columns of an entry about to be stored (each chain's previous link and its own), and the chains
    it arrived late on (an entry already stored there comes after it)."""
    chains = chains_of(entry)
    _lock(conn, chains, entry)
    canonical, columns, late = canonical_entry(entry), dict[str, str](), list[ChainKind]()
    for chain, last in _last_entries(conn, chains, entry).items():
        previous = GENESIS if last is None else str(last["hash"])
        if last is not None and chain.place(last) > chain.place(entry):
            late.append(chain)
            previous = _previous(conn, chain, entry)
        columns |= {chain.previous: previous, chain.hash: link(previous, canonical)}
    return columns, late


def _last_entries(conn: sa.Connection, chains: Sequence[ChainKind], entry: Entry) -> dict[ChainKind, Any]:
    """Each chain's last entry (its link and place), or None for a new chain: one round trip for all of them."""
    values = {_parameter(chain, column): entry[column] for chain in chains for column in chain.scope}
    found = {row["chain"]: row for row in conn.execute(_last_entries_statement(tuple(chains)), values).mappings()}
    return {chain: found.get(chain.name) for chain in chains}


@functools.cache
def _last_entries_statement(chains: tuple[ChainKind, ...]) -> sa.CompoundSelect[Any]:
    """Built once per set of chains (building a statement costs more than running it)."""
    places = [t.c[column] for column in REQUEST.order]
    lasts = [
        sa.select(sa.literal(chain.name).label("chain"), t.c[chain.hash].label("hash"), *places)
        .where(*(t.c[column] == sa.bindparam(_parameter(chain, column)) for column in chain.scope))
        .order_by(*(c.desc() for c in chain.ordered())).limit(1).subquery()
        for chain in chains
    ]  # fmt: skip
    return sa.union_all(*(sa.select(last) for last in lasts))


def _parameter(chain: ChainKind, column: str) -> str:
    return f"{chain.name}_{column}"


def relink_after(conn: sa.Connection, entry: Entry, chains: Sequence[ChainKind]) -> None:
    """Re-link, in each chain the entry arrived late on, the entries placed after it."""
    for chain in chains:
        later = conn.execute(
            sa.select(t).where(chain.members(entry), chain.key() > chain.place(entry)).order_by(*chain.ordered())
        ).mappings()
        running = _stored_hash(conn, chain, entry)
        for row in later:
            own = link(running, canonical_entry(row))
            if (row[chain.previous], row[chain.hash]) != (running, own):
                values = {chain.previous: running, chain.hash: own}
                conn.execute(sa.update(t).where(t.c.event_id == row["event_id"]).values(values))
            running = own


def _lock(conn: sa.Connection, chains: Sequence[ChainKind], entry: Entry) -> None:
    """On PostgreSQL, hold the chains until commit: two audit processes (a rebalance, two replicas) adding to one
    chain at once would both link to the same last entry. SQLite has one writer at a time already."""
    if conn.dialect.name != "postgresql":
        return
    keys = {f"lock_{number}": _lock_key(chain, entry) for number, chain in enumerate(chains)}
    conn.execute(_lock_statement(len(chains)), keys)


@functools.cache
def _lock_statement(count: int) -> sa.Select[Any]:
    keys = (sa.bindparam(f"lock_{number}", type_=sa.BigInteger) for number in range(count))
    return sa.select(*(sa.func.pg_advisory_xact_lock(key) for key in keys))


def _lock_key(chain: ChainKind, entry: Entry) -> int:
    name = "\x1f".join([chain.name, *(str(entry[column]) for column in chain.scope)]).encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


def _previous(conn: sa.Connection, chain: ChainKind, entry: Entry) -> str:
    """The link of the entry placed just before this one in the chain, GENESIS if none is."""
    before = conn.execute(
        sa.select(t.c[chain.hash])
        .where(chain.members(entry), chain.key() < chain.place(entry))
        .order_by(*(column.desc() for column in chain.ordered()))
        .limit(1)
    ).scalar()
    return str(before) if before else GENESIS


def _stored_hash(conn: sa.Connection, chain: ChainKind, entry: Entry) -> str:
    return str(conn.execute(sa.select(t.c[chain.hash]).where(t.c.event_id == entry["event_id"])).scalar_one())
