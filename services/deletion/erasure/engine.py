"""Runs an erasure plan store by store: one eraser per store kind (kept open between requests), legal holds
reported instead of applied, the journal consulted so a replayed request reports its first counts, and each batch
followed by a purge of what it left in the stores' files.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
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
from services.deletion.erasure.residue import NO_VACUUM, ResidueLeft, Vacuum
from services.deletion.erasure.sql import SqlEraser
from services.deletion.erasure.strategies import check_hmac_key

log = logging.getLogger(__name__)


class StoreEraser(Protocol):
    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome: ...

    def identifier_values(self) -> Iterator[tuple[str, str]]: ...

    def purge(self) -> None: ...

    def close(self) -> None: ...


def open_eraser(datamap: DataMap, store: Store, hmac_key: bytes, vacuum: Vacuum = NO_VACUUM) -> StoreEraser:
    if store.kind == "sql":
        return SqlEraser(datamap, store, hmac_key, vacuum)
    if store.kind == "redis":
        return RedisEraser(datamap, store, hmac_key)
    if store.kind == "jsonl":
        return JsonLinesEraser(datamap, store, hmac_key)
    raise ErasureError(store.name, f"a {store.kind} store is not erased here; expected sql, redis or jsonl")


class ErasureEngine:
    """`erase(plan, request_id)`; with a journal, a store done for that request is not touched again."""

    def __init__(self, datamap: DataMap, hmac_key: bytes, journal: ErasureJournal | None = None,
                 vacuum: Vacuum = NO_VACUUM) -> None:  # fmt: skip
        self.datamap = datamap
        self.hmac_key = check_hmac_key(hmac_key)
        self.journal = journal
        self.vacuum = vacuum
        self._erasers: dict[str, StoreEraser] = {}

    def erase(self, plan: ErasurePlan, request_id: str | None = None, dry_run: bool = False) -> ErasureOutcome:
        return self.erase_many([(plan, request_id)], dry_run)[0]

    def erase_many(self, requests: Sequence[tuple[ErasurePlan, str | None]],
                   dry_run: bool = False) -> list[ErasureOutcome]:  # fmt: skip
        """Several requests' plans, store by store. Log stores erase the whole batch in one pass over their files;
        SQL and Redis stores take one transaction per request. A store failing fails only there."""
        found: list[list[StoreOutcome]] = [[] for _ in requests]
        failures: list[dict[str, str]] = [{} for _ in requests]
        for name, items in _by_store(requests).items():
            eraser = self.eraser(items[0][1].store)
            if isinstance(eraser, JsonLinesEraser) and not dry_run and len(items) > 1:
                results = self._erase_log_batch(eraser, [(plan, requests[index][1]) for index, plan in items])
            else:
                results = [_attempt(name, partial(self.erase_store, plan, requests[index][1], dry_run))
                           for index, plan in items]  # fmt: skip
            for (index, _), result in zip(items, results, strict=True):
                if isinstance(result, StoreOutcome):
                    found[index].append(result)
                else:
                    failures[index][name] = result
        if not dry_run:
            self.purge()
        return [ErasureOutcome(tuple(stores), failed) for stores, failed in zip(found, failures, strict=True)]

    def _erase_log_batch(self, eraser: JsonLinesEraser,
                         items: list[tuple[StorePlan, str | None]]) -> list[StoreOutcome | str]:  # fmt: skip
        """Done (journaled) and held stores as erase_store treats them; all the others in one pass."""
        results: list[StoreOutcome | str | None] = [None] * len(items)
        batch: list[tuple[int, StorePlan, str | None]] = []
        for position, (plan, request_id) in enumerate(items):
            done = self.journal.recorded(request_id, plan.store.name) if self.journal and request_id else None
            if done is not None or plan.hold is not None:
                results[position] = _attempt(plan.store.name, partial(self.erase_store, plan, request_id))
            else:
                batch.append((position, plan, request_id))
        journal = self.journal
        settles = [journal.settler(request_id) if journal and request_id else unsettled for _, _, request_id in batch]
        erased = eraser.erase_many([(plan, settle) for (_, plan, _), settle in zip(batch, settles, strict=True)])
        for (position, _, request_id), outcome in zip(batch, erased, strict=True):
            if isinstance(outcome, StoreUnavailable):
                results[position] = outcome.reason
                continue
            if journal and request_id:
                journal.record(request_id, outcome)
            results[position] = outcome
        return [result if result is not None else "not erased" for result in results]

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
            self._erasers[store.name] = open_eraser(self.datamap, store, self.hmac_key, self.vacuum)
        return self._erasers[store.name]

    def purge(self) -> None:
        """Every open store removes what the erasures since the last purge left in its files. A store that cannot
        is logged: its records are erased all the same, and its next purge takes what this one left."""
        for name, eraser in self._erasers.items():
            try:
                eraser.purge()
            except ResidueLeft as exc:
                log.warning("erased records may leave old bytes in the store's files for now",
                            extra={"store": name, "reason": exc.reason})  # fmt: skip
            except Exception as exc:
                _unexpected(name, exc)

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


def _by_store(requests: Sequence[tuple[ErasurePlan, str | None]]) -> dict[str, list[tuple[int, StorePlan]]]:
    """Store name → (request's place, its plan for the store), stores in plan order."""
    stores: dict[str, list[tuple[int, StorePlan]]] = {}
    for index, (plan, _) in enumerate(requests):
        for store_plan in plan.stores:
            stores.setdefault(store_plan.store.name, []).append((index, store_plan))
    return stores


def _attempt(store: str, erase: Callable[[], StoreOutcome]) -> StoreOutcome | str:
    """The store's outcome, or why it could not be erased (without identifier values)."""
    try:
        return erase()
    except StoreUnavailable as exc:
        return exc.reason
    except ErasureError as exc:
        return exc.problem
    except Exception as exc:
        return _unexpected(store, exc)


def _unexpected(store: str, exc: Exception) -> str:
    # The message may quote a value; the frames name only code.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("erasure failed unexpectedly", extra={"store": store, "error_type": type(exc).__name__,
                                                    "frames": frames})  # fmt: skip
    return f"unexpected error ({type(exc).__name__})"
