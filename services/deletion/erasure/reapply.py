"""Backups reapply: after a backup is restored into a store, erase again exactly the records whose identifiers
the suppression ledger covers, with the same plan and strategies as the original erasures, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.common.datamap.model import DataMap, Store
from services.deletion.erasure.engine import ErasureEngine
from services.deletion.erasure.holds import LegalHold
from services.deletion.erasure.ledger import Ledger
from services.deletion.erasure.outcome import StoreOutcome
from services.deletion.erasure.plan import ERASED_KINDS, plan_erasure

CHECK_BATCH = 2000


@dataclass(frozen=True)
class ReapplyOutcome:
    store: str
    scanned: Mapping[str, int]  # identifier kind → values read (once per column or field holding them)
    covered: Mapping[str, int]  # identifier kind → of those, values the ledger covers (held subjects excluded)
    outcome: StoreOutcome
    dry_run: bool = False


def reapply(store_name: str, datamap: DataMap, ledger: Ledger, *, hmac_key: bytes, holds: Iterable[LegalHold] = (),
            dry_run: bool = False, now: datetime | None = None) -> ReapplyOutcome:  # fmt: skip
    """Scan the store's identifiers, keep those the ledger covers, and erase the records they match.

    A hold on the whole store keeps it untouched; a subject's hold keeps the values it was erased under.
    """
    store = _erasable(datamap, store_name)
    held = tuple(holds)
    engine = ErasureEngine(datamap, hmac_key)
    try:
        scanned, covered = _covered_identifiers(engine.eraser(store).identifier_values(), ledger, held, store_name)
        store_wide = [hold for hold in held if hold.subject_key is None]
        plan = plan_erasure(datamap, covered, holds=store_wide, now=now, stores=[store_name])
        outcome = engine.erase_store(plan.stores[0], dry_run=dry_run)
        if not dry_run:
            engine.purge()
    finally:
        engine.close()
    covered_counts = {kind: len(values) for kind, values in covered.items()}
    return ReapplyOutcome(store_name, scanned, covered_counts, outcome, dry_run)


def _erasable(datamap: DataMap, store_name: str) -> Store:
    store = datamap.store(store_name)
    if store is None:
        names = ", ".join(s.name for s in datamap.stores if s.kind in ERASED_KINDS)
        raise ValueError(f"no store {store_name!r} in the data map; stores that can be restored: {names}")
    if store.kind not in ERASED_KINDS:
        raise ValueError(f"store {store_name!r} is a {store.kind} store (a service provider); reapply works on "
                         "sql, redis and jsonl stores")  # fmt: skip
    return store


def _covered_identifiers(found: Iterator[tuple[str, str]], ledger: Ledger, holds: tuple[LegalHold, ...],
                         store: str) -> tuple[dict[str, int], dict[str, frozenset[str]]]:  # fmt: skip
    """Values read per kind, and the covered ones; checked against the ledger in batches as the scan streams."""
    scanned: dict[str, int] = {}
    pending: dict[str, set[str]] = {}
    covered: dict[str, set[str]] = {}

    def check(kind: str) -> None:
        entries = ledger.covered(kind, pending.pop(kind, set()))
        kept = {value for value, subject in entries.items() if not _held(holds, subject, store)}
        if kept:
            covered.setdefault(kind, set()).update(kept)

    for kind, value in found:
        scanned[kind] = scanned.get(kind, 0) + 1
        batch = pending.setdefault(kind, set())
        batch.add(value)
        if len(batch) >= CHECK_BATCH:
            check(kind)
    for kind in list(pending):
        check(kind)
    return scanned, {kind: frozenset(values) for kind, values in covered.items()}


def _held(holds: tuple[LegalHold, ...], subject_key: str | None, store: str) -> bool:
    return subject_key is not None and any(h.subject_key == subject_key and h.covers(subject_key, store) for h in holds)
