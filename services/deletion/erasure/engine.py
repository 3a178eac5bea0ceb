"""Runs an erasure plan store by store: one eraser per store kind (kept open between requests), legal holds
reported instead of applied, and the journal consulted so a replayed request reports its first counts.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import StoreUnavailable
from services.deletion.erasure.jsonl import JsonLinesEraser
from services.deletion.erasure.outcome import (
    LEGAL_HOLD,
    ErasureError,
    ErasureJournal,
    ErasureOutcome,
    Exemption,
    Settle,
    StoreOutcome,
    unsettled,
)
from services.deletion.erasure.plan import ErasurePlan, StorePlan
from services.deletion.erasure.redis_store import RedisEraser
from services.deletion.erasure.sql import SqlEraser
from services.deletion.erasure.strategies import check_hmac_key

log = logging.getLogger(__name__)


class StoreEraser(Protocol):
    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome: ...

    def identifier_values(self) -> Iterator[tuple[str, str]]: ...

    def close(self) -> None: ...


def open_eraser(datamap: DataMap, store: Store, hmac_key: bytes) -> StoreEraser:
    if store.kind == "sql":
        return SqlEraser(datamap, store, hmac_key)
    if store.kind == "redis":
        return RedisEraser(datamap, store, hmac_key)
    if store.kind == "jsonl":
        return JsonLinesEraser(datamap, store, hmac_key)
    raise ErasureError(store.name, f"a {store.kind} store is not erased here; expected sql, redis or jsonl")


class ErasureEngine:
    """`erase(plan, request_id)`; with a journal, a store done for that request is not touched again."""

    def __init__(self, datamap: DataMap, hmac_key: bytes, journal: ErasureJournal | None = None) -> None:
        self.datamap = datamap
        self.hmac_key = check_hmac_key(hmac_key)
        self.journal = journal
        self._erasers: dict[str, StoreEraser] = {}

    def erase(self, plan: ErasurePlan, request_id: str | None = None, dry_run: bool = False) -> ErasureOutcome:
        outcomes, failures = [], {}
        for store_plan in plan.stores:
            try:
                outcomes.append(self.erase_store(store_plan, request_id, dry_run))
            except StoreUnavailable as exc:
                failures[exc.store] = exc.reason
            except ErasureError as exc:
                failures[exc.store] = exc.problem
            except Exception as exc:
                failures[store_plan.store.name] = _unexpected(store_plan.store.name, exc)
        return ErasureOutcome(tuple(outcomes), failures)

    def erase_store(self, plan: StorePlan, request_id: str | None = None, dry_run: bool = False) -> StoreOutcome:
        journal = self.journal if request_id and not dry_run else None
        if journal and request_id and (done := journal.recorded(request_id, plan.store.name)):
            return done
        eraser = self.eraser(plan.store)
        if plan.hold is not None:
            return held(eraser.erase(plan, dry_run=True), plan.hold.reason)
        settle = journal.settler(request_id) if journal and request_id else unsettled
        outcome = eraser.erase(plan, settle, dry_run)
        if journal and request_id:
            journal.record(request_id, outcome)
        return outcome

    def eraser(self, store: Store) -> StoreEraser:
        if store.name not in self._erasers:
            self._erasers[store.name] = open_eraser(self.datamap, store, self.hmac_key)
        return self._erasers[store.name]

    def close(self) -> None:
        for eraser in self._erasers.values():
            eraser.close()
        self._erasers.clear()


def held(seen: StoreOutcome, reason: str) -> StoreOutcome:
    """Every record the erasure would have changed, reported as kept under the legal hold."""
    counts = {name: {"held": sum(actions.values())} for name, actions in seen.counts.items()}
    exempt = tuple(Exemption(name, LEGAL_HOLD, f"legal hold: {reason}", actions["held"])
                   for name, actions in counts.items())  # fmt: skip
    return replace(seen, counts=counts, exempt=exempt)


def _unexpected(store: str, exc: Exception) -> str:
    # The message may quote a value; the frames name only code.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("erasure failed unexpectedly", extra={"store": store, "error_type": type(exc).__name__,
                                                    "frames": frames})  # fmt: skip
    return f"unexpected error ({type(exc).__name__})"
