"""Verify's view of purges: the signed purge statements, and the rule that a gap in a chain is accepted exactly
when signed statements bridge it (a deletion no statement covers is still named)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from services.audit import checkpoints, orm
from services.audit.chain import GENESIS, Break, Linked, first_break

Scope = tuple[Any, ...]


@dataclass
class Purges:
    """The purge statements whose signature holds, by source chain and by request; the others' problems."""

    sources: dict[Scope, list[dict[str, Any]]] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, body: dict[str, Any]) -> None:
        if body["chain"] == "source":
            self.sources.setdefault((body["topic"], body["partition"]), []).append(body)
        else:
            self.requests[body["request_id"]] = body

    def covers_offset(self, scope: Scope, offset: int) -> bool:
        """A signed head at this offset was purged (it lies inside a purged run)."""
        return any(s["first_offset"] <= offset <= s["last_offset"] for s in self.sources.get(scope, []))

    def covers_request(self, request_id: str, entries: int) -> bool:
        """A request whose chain of at least `entries` entries (as a checkpoint signed it) was purged whole."""
        statement = self.requests.get(request_id)
        return statement is not None and statement["entries"] >= entries


def load(conn: sa.Connection, ring: checkpoints.KeyRing) -> Purges:
    """The signed purge statements; one holds when it verifies under a key of the ring (current or retired)."""
    purges = Purges()
    for row in conn.execute(sa.select(orm.chain_purges).order_by(orm.chain_purges.c.purged_at)):
        body = row.body.encode()
        if not any(checkpoints.signature_holds(body, row.signature, key) for key in ring.values()):
            purges.problems.append(f"purge statement {row.digest[:16]}: its signature holds under none of audit's "
                                   "public keys")  # fmt: skip
        elif checkpoints.digest_of(row.body) != row.digest:
            purges.problems.append(f"purge statement {row.digest[:16]}: its digest does not match its body")
        else:
            purges.add(json.loads(row.body))
    return purges


def bridged(expected: str, previous: str, statements: Sequence[dict[str, Any]]) -> bool:
    """Statements lead, gap after gap, from the link the chain expected to the previous link the entry names."""
    following = {s["before"]: s["last"] for s in statements}
    here, steps = expected, 0
    while here in following and steps <= len(statements):
        here, steps = following[here], steps + 1
        if here == previous:
            return True
    return False


def first_unbridged_break(chain: Sequence[Linked], statements: Sequence[dict[str, Any]]) -> Break | None:
    """first_break over each stretch of the chain between purged gaps that statements bridge."""
    if not statements:
        return first_break(chain)
    start = 0
    for index in range(len(chain) + 1):
        if index < len(chain) and not _after_bridged_gap(chain, index, statements):
            continue
        stretch = chain[start:index]
        if stretch:
            broken = first_break(_rebased(stretch))
            if broken is not None:
                return _unbased(broken, chain, start)
        start = index
    return None


def _after_bridged_gap(chain: Sequence[Linked], index: int, statements: Sequence[dict[str, Any]]) -> bool:
    expected = chain[index - 1].hash if index else GENESIS
    return chain[index].previous != expected and bridged(expected, chain[index].previous, statements)


@dataclass(frozen=True)
class _Bridge(Linked):
    """Stands for the purged run before a stretch: it holds and ends where the stretch's first entry links."""

    def holds(self, entry: Any = None) -> bool:
        return True


def _rebased(stretch: Sequence[Linked]) -> list[Linked]:
    if stretch[0].previous == GENESIS:
        return list(stretch)
    return [_Bridge(stretch[0].entry, GENESIS, stretch[0].previous), *stretch]


def _unbased(broken: Break, chain: Sequence[Linked], start: int) -> Break:
    """The break named on the whole chain: a break at a stretch's first entry comes after the last kept entry
    before the gap, not after the stand-in."""
    first = chain[start].event_id
    if start and broken.event_id == first and broken.after == first:
        return replace(broken, after=chain[start - 1].event_id)
    return broken


def vanished_requests(named: dict[str, tuple[int, dict[str, Any]]], walked: set[str], purges: Purges) -> list[str]:
    """Requests a checkpoint signed whose whole chain is gone, and no purge statement says it was purged."""
    return [f"request chain {request_id}: checkpoint {sequence} signed its {head['entries']} entries and they are "
            "all gone, with no purge statement covering them"
            for request_id, (sequence, head) in sorted(named.items())
            if request_id not in walked and not purges.covers_request(request_id, head["entries"])]  # fmt: skip
