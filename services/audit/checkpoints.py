"""Signed checkpoints: every chain head at one moment, signed with audit's Ed25519 key, each naming the digest of
the checkpoint before it, so the checkpoints form the one global chain that fixes every source chain's state."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.audit import orm
from services.audit.chain import GENESIS, digest, instant

t = orm.timeline
FORMAT = "ccpa-audit-checkpoint/1"


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex characters of SHA-256 of the raw public key: how a checkpoint names its key."""
    return digest(public_key_bytes(key))[:16]


# key id -> raw public key: every key whose checkpoints audit accepts (its signing key's and the retired ones).
KeyRing = Mapping[str, bytes]


def key_ring(public_keys: Iterable[bytes]) -> dict[str, bytes]:
    """The key ring of these raw Ed25519 public keys, each under the key id checkpoints name it by."""
    return {key_id(Ed25519PublicKey.from_public_bytes(raw)): raw for raw in public_keys}


def digest_of(body: str) -> str:
    return digest(body.encode())


def signature_holds(body: bytes, signature_b64: str, public_key: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(signature_b64), body)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    digest: str
    body: dict[str, Any]
    signature: str

    @property
    def canonical(self) -> bytes:
        return rfc8785.dumps(self.body)

    def request_head(self, request_id: str) -> dict[str, Any] | None:
        return next((head for head in self.body["requests"] if head["request_id"] == request_id), None)


def source_heads(conn: sa.Connection) -> list[dict[str, Any]]:
    """The last link of every source partition's chain, by topic and partition."""
    last = sa.select(t.c.topic, t.c.partition, sa.func.max(t.c.offset).label("offset")).group_by(
        t.c.topic, t.c.partition
    ).subquery()  # fmt: skip
    rows = conn.execute(
        sa.select(t.c.topic, t.c.partition, t.c.offset, t.c.source_hash)
        .join(last, sa.and_(t.c.topic == last.c.topic, t.c.partition == last.c.partition, t.c.offset == last.c.offset))
        .order_by(t.c.topic, t.c.partition)
    ).all()
    return [{"topic": r.topic, "partition": r.partition, "offset": r.offset, "hash": r.source_hash} for r in rows]


def request_heads(conn: sa.Connection, changed: sa.ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """The last link and length of each request's chain (only requests with an entry matching `changed`)."""
    place = sa.func.row_number().over(partition_by=t.c.request_id, order_by=[
        t.c.occurred_at.desc(), t.c.topic.desc(), t.c.partition.desc(), t.c.offset.desc()])  # fmt: skip
    count = sa.func.count().over(partition_by=t.c.request_id)
    scope: sa.ColumnElement[bool] = t.c.request_id.is_not(None)
    if changed is not None:
        scope = sa.and_(scope, t.c.request_id.in_(sa.select(t.c.request_id).where(changed).distinct()))
    ranked = sa.select(t.c.request_id, t.c.request_hash, place.label("place"), count.label("entries")).where(
        scope).subquery()  # fmt: skip
    rows = conn.execute(sa.select(ranked).where(ranked.c.place == 1).order_by(ranked.c.request_id)).all()
    return [{"request_id": r.request_id, "head": r.request_hash, "entries": r.entries} for r in rows]


def root(sources: list[dict[str, Any]]) -> str:
    """One digest of every source head: the state of the whole timeline, the same for any two equal timelines."""
    return digest(rfc8785.dumps(sources))


def latest(conn: sa.Connection) -> Checkpoint | None:
    row = conn.execute(sa.select(orm.checkpoints).order_by(orm.checkpoints.c.sequence.desc()).limit(1)).first()
    return None if row is None else of_row(row)


def covering(conn: sa.Connection, request_id: str) -> Checkpoint | None:
    """The latest checkpoint that signed this request's head."""
    naming = orm.checkpoints.c.body.contains(f'"request_id":"{request_id}"', autoescape=True)
    named = sa.select(orm.checkpoints).where(naming)
    row = conn.execute(named.order_by(orm.checkpoints.c.sequence.desc()).limit(1)).first()
    return None if row is None else of_row(row)


def of_row(row: sa.Row[Any]) -> Checkpoint:
    return Checkpoint(row.sequence, row.digest, json.loads(row.body), row.signature)


def take(conn: sa.Connection, key: Ed25519PrivateKey, now: datetime) -> Checkpoint | None:
    """Sign the chain heads if any moved since the last checkpoint; None when nothing did."""
    before = latest(conn)
    sources = source_heads(conn)
    if before is not None and before.body["sources"] == sources:
        return None
    body: dict[str, Any] = {
        "format": FORMAT,
        "sequence": before.sequence + 1 if before else 1,
        "previous": before.digest if before else GENESIS,
        "signed_at": instant(now),
        "key_id": key_id(key.public_key()),
        "sources": sources,
        "root": root(sources),
        "requests": request_heads(conn, _beyond(before.body["sources"]) if before else None),
    }
    canonical = rfc8785.dumps(body)
    signature = base64.b64encode(key.sign(canonical)).decode()
    checkpoint = Checkpoint(body["sequence"], digest(canonical), body, signature)
    row = {"sequence": checkpoint.sequence, "digest": checkpoint.digest, "body": canonical.decode(),
           "signature": signature, "signed_at": now}  # fmt: skip
    conn.execute(sa.insert(orm.checkpoints).values(row))
    return checkpoint


def _beyond(sources: list[dict[str, Any]]) -> sa.ColumnElement[bool]:
    """Entries past a checkpoint's source heads: in a partition it had not seen, or at a later offset."""
    seen = [(head["topic"], head["partition"]) for head in sources]
    later = [sa.and_(t.c.topic == h["topic"], t.c.partition == h["partition"], t.c.offset > h["offset"])
             for h in sources]  # fmt: skip
    unseen = sa.tuple_(t.c.topic, t.c.partition).not_in(seen) if seen else sa.true()
    return sa.or_(unseen, *later)
