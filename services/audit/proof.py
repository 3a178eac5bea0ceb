"""Proof bundles: one request's chained entries with the signed checkpoint covering them, checkable offline.

docs/audit-proof.md describes the bundle and how to check one by hand.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import rfc8785
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.audit import checkpoints, orm
from services.audit.chain import ENTRY_FIELDS, GENESIS, canonical_entry, instant, link
from services.audit.checkpoints import Checkpoint
from services.audit.links import REQUEST

FORMAT = "ccpa-audit-proof/1"
t = orm.timeline


class ProofError(Exception):
    """No proof can be given for this request (the message says why, never an identifier)."""


def export(engine: sa.Engine, request_id: str, key: Ed25519PrivateKey,
           retired: checkpoints.KeyRing | None = None) -> dict[str, Any]:  # fmt: skip
    """The request's entries and links in timeline order, the checkpoint signing their head, and the public key
    that checkpoint names (the signing key's, or a retired one's from `retired`)."""
    with engine.begin() as conn:
        entries = _entries(conn, request_id)
        if not entries:
            raise ProofError("no timeline for this request")
        covering = _covering(conn, request_id, entries)
        if covering is None:
            checkpoints.take(conn, key, datetime.now(UTC))
            covering = _covering(conn, request_id, entries)
    if covering is None:
        raise ProofError("this request's chain does not match the checkpoint that signed it: run `ccpa audit verify`")
    keys = {**(retired or {}), **checkpoints.key_ring([checkpoints.public_key_bytes(key.public_key())])}
    if (named := keys.get(covering.body["key_id"])) is None:
        raise ProofError(f"the covering checkpoint {covering.sequence} was signed by key {covering.body['key_id']}, "
                         "which audit does not know: add its public key to CCPA_AUDIT_RETIRED_VERIFY_KEYS")  # fmt: skip
    public_key = base64.b64encode(named).decode()
    signed = {"body": covering.body, "signature": covering.signature}
    return {"format": FORMAT, "request_id": request_id, "entries": entries, "checkpoint": signed,
            "public_key": public_key}  # fmt: skip


def _entries(conn: sa.Connection, request_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(t).where(t.c.request_id == request_id).order_by(*REQUEST.ordered())).mappings()
    return [{"entry": _fields(row), "previous": row["request_prev"], "hash": row["request_hash"]} for row in rows]


def _fields(row: Any) -> dict[str, Any]:
    fields = {name: row[name] for name in ENTRY_FIELDS}
    fields["occurred_at"] = instant(fields["occurred_at"])
    return fields


def _covering(conn: sa.Connection, request_id: str, entries: list[dict[str, Any]]) -> Checkpoint | None:
    found = checkpoints.covering(conn, request_id)
    head = found.request_head(request_id) if found else None
    if head is None or (head["head"], head["entries"]) != (entries[-1]["hash"], len(entries)):
        return None
    return found


def check(bundle: dict[str, Any]) -> list[str]:
    """What does not hold in a bundle (nothing: it proves its entries); needs no database and no network."""
    try:
        return _entry_problems(bundle) or _checkpoint_problems(bundle)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"not a proof bundle of format {FORMAT}: {type(exc).__name__} reading it"]


def _entry_problems(bundle: dict[str, Any]) -> list[str]:
    if bundle["format"] != FORMAT:
        return [f"format {bundle['format']!r} is not {FORMAT}"]
    previous, problems = GENESIS, []
    for number, linked in enumerate(bundle["entries"], 1):
        entry = linked["entry"]
        if entry["request_id"] != bundle["request_id"]:
            problems.append(f"entry {number} ({entry['event_id']}) belongs to another request")
        if linked["previous"] != previous:
            problems.append(f"entry {number} ({entry['event_id']}) does not link to the entry before it")
        if link(linked["previous"], canonical_entry(entry)) != linked["hash"]:
            problems.append(f"entry {number} ({entry['event_id']}): its content does not give its hash")
        previous = linked["hash"]
    return problems


def _checkpoint_problems(bundle: dict[str, Any]) -> list[str]:
    body, signature = bundle["checkpoint"]["body"], bundle["checkpoint"]["signature"]
    public_key = base64.b64decode(bundle["public_key"])
    problems = []
    if not checkpoints.signature_holds(rfc8785.dumps(body), signature, public_key):
        problems.append("the checkpoint's signature does not hold under the bundle's public key")
    if body["key_id"] != checkpoints.key_id(Ed25519PublicKey.from_public_bytes(public_key)):
        problems.append("the checkpoint names another key than the bundle's public key")
    head = next((h for h in body["requests"] if h["request_id"] == bundle["request_id"]), None)
    entries = bundle["entries"]
    if head is None:
        problems.append("the checkpoint does not sign this request's chain")
    elif (head["head"], head["entries"]) != (entries[-1]["hash"] if entries else None, len(entries)):
        problems.append(f"the checkpoint signed a chain of {head['entries']} entries ending elsewhere")
    return problems


def key_id(bundle: dict[str, Any]) -> str:
    """The bundle's key id, to compare with the one audit's operator publishes."""
    return checkpoints.key_id(Ed25519PublicKey.from_public_bytes(base64.b64decode(bundle["public_key"])))
