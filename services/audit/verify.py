"""`ccpa audit verify`: walk every chain and checkpoint of an audit database and name the first entry that broke."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from services.audit import checkpoints, gaps, orm
from services.audit.chain import GENESIS, Linked
from services.audit.checkpoints import Checkpoint, KeyRing
from services.audit.links import REQUEST, SOURCE, ChainKind

t = orm.timeline
WALK_BATCH = 5000


@dataclass
class Verdict:
    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    uncovered: int = 0  # entries after the last checkpoint: chained, not yet signed

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(engine: sa.Engine, keys: KeyRing | bytes) -> Verdict:
    """Every source chain, every request chain, every checkpoint's signature (under the key it names: a key ring,
    or one raw public key), sequence and heads."""
    verdict = Verdict()
    ring = checkpoints.key_ring([keys]) if isinstance(keys, bytes) else keys
    with engine.connect() as conn:
        signed = list(_checkpoints(conn, ring, verdict))
        heads, named = _signed_heads(signed), _latest_naming(signed)
        last = signed[-1] if signed else None
        purges = gaps.load(conn, ring)  # gaps a signed purge statement covers are not tampering
        verdict.problems.extend(purges.problems)
        for scope, chain in _chains(conn, SOURCE):
            verdict.entries += len(chain)
            _walk(verdict, SOURCE, scope, chain, purges.sources.get(scope, []))
            _check_heads(verdict, scope, chain, heads.get(scope, {}), purges)
            verdict.uncovered += _uncovered(last, scope, chain)
        walked: set[str] = set()
        for (request_id,), chain in _chains(conn, REQUEST, t.c.request_id.is_not(None)):
            walked.add(request_id)
            _walk(verdict, REQUEST, (request_id,), chain)
            _check_request(verdict, last, named.get(request_id), chain)
        verdict.problems.extend(gaps.vanished_requests(named, walked, purges))
    return verdict


Chains = Iterator[tuple[tuple[Any, ...], list[Linked]]]


def _chains(conn: sa.Connection, kind: ChainKind, where: sa.ColumnElement[bool] | None = None) -> Chains:
    query = sa.select(t).where(sa.true() if where is None else where).order_by(*kind.ordered())
    rows = conn.execution_options(yield_per=WALK_BATCH).execute(query)
    scope: tuple[Any, ...] | None = None
    chain: list[Linked] = []
    for row in rows.mappings():
        here = tuple(row[column] for column in kind.scope)
        if here != scope and scope is not None:
            yield scope, chain
            chain = []
        scope = here
        chain.append(Linked(row, str(row[kind.previous]), str(row[kind.hash])))
    if scope is not None:
        yield scope, chain


def _walk(verdict: Verdict, kind: ChainKind, scope: tuple[Any, ...], chain: list[Linked],
          purged: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
    broken = gaps.first_unbridged_break(chain, purged or [])
    if broken is not None:
        verdict.problems.append(broken.describe(_name(kind, scope)))


def _name(kind: ChainKind, scope: tuple[Any, ...]) -> str:
    if kind is SOURCE:
        return f"source chain {scope[0]}[{scope[1]}]"
    return f"request chain {scope[0]}"


def _checkpoints(conn: sa.Connection, keys: KeyRing, verdict: Verdict) -> Iterator[Checkpoint]:
    previous = GENESIS
    for number, row in enumerate(conn.execute(sa.select(orm.checkpoints).order_by(orm.checkpoints.c.sequence)), 1):
        checkpoint = checkpoints.of_row(row)
        verdict.checkpoints += 1
        if checkpoint.sequence != number or checkpoint.body.get("sequence") != number:
            verdict.problems.append(f"checkpoint {checkpoint.sequence}: checkpoint {number} is missing")
        elif checkpoint.body.get("previous") != previous:
            verdict.problems.append(f"checkpoint {number}: does not name the digest of checkpoint {number - 1}")
        elif (public_key := keys.get(str(checkpoint.body.get("key_id")))) is None:
            verdict.problems.append(f"checkpoint {number}: {_unknown_key(checkpoint)}")
        elif not checkpoints.signature_holds(row.body.encode(), checkpoint.signature, public_key):
            verdict.problems.append(f"checkpoint {number}: its signature does not hold under audit's public key")
        elif checkpoints.digest_of(row.body) != checkpoint.digest:
            verdict.problems.append(f"checkpoint {number}: its digest does not match its body")
        previous = checkpoint.digest
        yield checkpoint


def _unknown_key(checkpoint: Checkpoint) -> str:
    return (f"signed by key {checkpoint.body.get('key_id')}, which audit does not know (a retired key's public key "
            "goes in CCPA_AUDIT_RETIRED_VERIFY_KEYS)")  # fmt: skip


def _signed_heads(signed: list[Checkpoint]) -> dict[tuple[Any, ...], dict[int, tuple[int, str]]]:
    """(topic, partition) -> {offset: (checkpoint sequence, head signed there)}."""
    heads: dict[tuple[Any, ...], dict[int, tuple[int, str]]] = {}
    for checkpoint in signed:
        for head in checkpoint.body["sources"]:
            heads.setdefault((head["topic"], head["partition"]), {})[head["offset"]] = (checkpoint.sequence,
                                                                                        head["hash"])  # fmt: skip
    return heads


def _check_heads(verdict: Verdict, scope: tuple[Any, ...], chain: list[Linked],
                 signed: dict[int, tuple[int, str]], purges: gaps.Purges) -> None:  # fmt: skip
    """Each signed head of this source chain is still the link at its offset (a re-computed chain is not)."""
    stored = {int(linked.entry["offset"]): linked for linked in chain}
    for offset, (sequence, head) in sorted(signed.items()):
        found = stored.get(offset)
        if found is None and purges.covers_offset(scope, offset):
            continue
        if found is None or found.hash != head:
            verdict.problems.append(f"{_name(SOURCE, scope)}: the head checkpoint {sequence} signed at offset "
                                    f"{offset} is {'gone' if found is None else 'changed'}: an entry up to it was "
                                    "deleted or edited and the chain re-computed")  # fmt: skip
            return


def _uncovered(last: Checkpoint | None, scope: tuple[Any, ...], chain: list[Linked]) -> int:
    signed = {(h["topic"], h["partition"]): h["offset"] for h in last.body["sources"]} if last else {}
    offset = signed.get(scope, -1)
    return sum(1 for linked in chain if int(linked.entry["offset"]) > offset)


def _latest_naming(signed: list[Checkpoint]) -> dict[str, tuple[int, dict[str, Any]]]:
    """request id -> (sequence, head) of the latest checkpoint that signed the request's head."""
    return {head["request_id"]: (c.sequence, head) for c in signed for head in c.body["requests"]}


def _check_request(verdict: Verdict, last: Checkpoint | None, covering: tuple[int, dict[str, Any]] | None,
                   chain: list[Linked]) -> None:  # fmt: skip
    """The latest checkpoint naming this request still matches its chain, unless entries came after it."""
    if covering is None or _has_unsigned(last, chain):
        return
    sequence, head = covering
    if head["entries"] != len(chain) or head["head"] != chain[-1].hash:
        verdict.problems.append(f"request chain {head['request_id']}: no longer what checkpoint {sequence} signed "
                                f"({head['entries']} entries): an entry was deleted, inserted or edited and the "
                                "chain re-computed")  # fmt: skip


def _has_unsigned(last: Checkpoint | None, chain: list[Linked]) -> bool:
    if last is None:
        return True
    signed = {(h["topic"], h["partition"]): h["offset"] for h in last.body["sources"]}
    return any(int(e.entry["offset"]) > signed.get((e.entry["topic"], e.entry["partition"]), -1) for e in chain)
