"""The discovery walk: ask every store for the subject's records, round after round, until no new identifier
value turns up. Stores run concurrently, each under its own timeout; a failing store never stops the others.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreConnector, StoreUnavailable
from services.common.stores.values import identifier_values, merge_identifiers, searchable_kinds

log = logging.getLogger(__name__)
MAX_REASON_LENGTH = 200
Question = dict[str, frozenset[str]]  # kind → values a store is asked for
Answer = tuple[Question, list[FoundRecord] | str]  # the question, and the records or the reason it failed


@dataclass(frozen=True)
class WalkResult:
    records: dict[str, list[FoundRecord]]  # store name → its records, deduplicated by (collection, locator)
    identifiers: dict[str, frozenset[str]]  # kind → every value known at the end, seeds included
    failures: dict[str, str] = field(default_factory=dict)  # store name → reason, without identifier values
    rounds: int = 0
    exhausted: bool = False  # max_rounds ran out while identifiers were still growing

    @property
    def complete(self) -> bool:
        return not self.failures

    def subjects_own(self, datamap: DataMap) -> list[FoundRecord]:
        """The records that are the subject's own: those of `shared` collections (a product, an employee, reached
        through one-way references) are referenced data, never erased, so never residue."""
        return [record for name, records in self.records.items() for record in records
                if not _is_shared(datamap, name, record.collection)]  # fmt: skip


def identifiers_in(datamap: DataMap, store: Store, records: Iterable[FoundRecord]) -> dict[str, frozenset[str]]:
    """Identifier values the records hold, by kind: every field that `identifies` a kind or `references` one,
    unless the data map says not to follow it."""
    found: dict[str, set[str]] = {}
    for record in records:
        collection = store.collection(record.collection)
        if collection is None:
            continue
        for data_field in collection.fields:
            kind = datamap.identifier_kind(store, collection, data_field)
            if kind and data_field.follow and data_field.name in record.values:
                found.setdefault(kind, set()).update(identifier_values(kind, record.values[data_field.name]))
    return {kind: frozenset(values) for kind, values in found.items() if values}


def walk(datamap: DataMap, connectors: Mapping[str, StoreConnector], seed_identifiers: Identifiers,
         max_rounds: int = 10) -> WalkResult:  # fmt: skip
    """Search every store until the identifier set stops growing (or `max_rounds`); see WalkResult."""
    state = _WalkState(datamap, connectors, seed_identifiers)
    pool = ThreadPoolExecutor(max_workers=max(1, len(connectors)), thread_name_prefix="store-search")
    rounds = 0
    try:
        while rounds < max_rounds and (questions := state.next_questions()):
            rounds += 1
            state.answer(_ask(pool, connectors, questions))
            log.debug("walk round done", extra={"round": rounds, "stores_asked": len(questions)})
    finally:
        # A store still hanging past its timeout is abandoned, not waited for; its own socket timeout ends it.
        pool.shutdown(wait=False, cancel_futures=True)
    exhausted = bool(state.next_questions())
    if exhausted:
        log.warning("walk stopped with identifiers still growing", extra={"rounds": rounds})
    return state.result(rounds, exhausted)


class _WalkState:
    def __init__(self, datamap: DataMap, connectors: Mapping[str, StoreConnector], seeds: Identifiers) -> None:
        self.datamap = datamap
        self.connectors = connectors
        self.known: dict[str, set[str]] = {}
        merge_identifiers(self.known, {kind: identifier_values(kind, list(values)) for kind, values in seeds.items()})
        self.asked: dict[str, dict[str, set[str]]] = {name: {} for name in connectors}
        self.records: dict[str, dict[tuple[str, str], FoundRecord]] = {name: {} for name in connectors}
        self.failures: dict[str, str] = {}
        self.kinds = {name: searchable_kinds(datamap, c.store) for name, c in connectors.items()}

    def next_questions(self) -> dict[str, Question]:
        """Per store not yet failed: the new values of each kind it can search, if any kind gained some."""
        questions = {}
        for name, connector in self.connectors.items():
            if name in self.failures:
                continue
            new = {kind: frozenset(self.known.get(kind, set()) - self.asked[name].get(kind, set()))
                   for kind in self.kinds[name]}  # fmt: skip
            new = {kind: values for kind, values in new.items() if values}
            if new and _combines_kinds(connector.store):
                # A key pattern with several placeholders needs every combination, old values with new ones.
                new = {kind: frozenset(self.known[kind]) for kind in self.kinds[name] if self.known.get(kind)}
            if new:
                questions[name] = new
        return questions

    def answer(self, answers: Mapping[str, Answer]) -> None:
        for name, (question, outcome) in answers.items():
            if isinstance(outcome, str):
                self.failures[name] = self._redacted(outcome)
                continue
            merge_identifiers(self.asked[name], question)
            for record in outcome:
                self.records[name].setdefault((record.collection, record.locator), record)
            merge_identifiers(self.known, identifiers_in(self.datamap, self.connectors[name].store, outcome))

    def result(self, rounds: int, exhausted: bool) -> WalkResult:
        return WalkResult(
            records={name: list(found.values()) for name, found in self.records.items()},
            identifiers={kind: frozenset(values) for kind, values in self.known.items()},
            failures=dict(self.failures),
            rounds=rounds,
            exhausted=exhausted,
        )

    def _redacted(self, reason: str) -> str:
        """Belt and braces: connectors' reasons carry no values, but a driver message might quote one."""
        for value in sorted({v for values in self.known.values() for v in values}, key=len, reverse=True):
            reason = re.sub(rf"(?<![\w@.+-]){re.escape(value)}(?![\w@.-])", "[identifier]", reason, flags=re.I)
        return reason[:MAX_REASON_LENGTH]


def _is_shared(datamap: DataMap, store_name: str, collection_name: str) -> bool:
    store = datamap.store(store_name)
    collection = store.collection(collection_name) if store else None
    return bool(collection and collection.shared)


def _combines_kinds(store: Store) -> bool:
    return any(len(set(collection.key_kinds())) > 1 for collection in store.collections)


def _ask(pool: ThreadPoolExecutor, connectors: Mapping[str, StoreConnector],
         questions: Mapping[str, Question]) -> dict[str, Answer]:  # fmt: skip
    started = time.monotonic()
    futures = {name: pool.submit(connectors[name].search, question) for name, question in questions.items()}
    return {name: (questions[name], _outcome(name, connectors[name], future, started))
            for name, future in futures.items()}  # fmt: skip


def _outcome(name: str, connector: StoreConnector, future: Future[list[FoundRecord]],
             started: float) -> list[FoundRecord] | str:  # fmt: skip
    """The store's records, or the reason it failed."""
    timeout = connector.store.timeout_seconds
    try:
        return future.result(timeout=max(0.0, started + timeout - time.monotonic()))
    except FutureTimeout:
        return f"timed out after {timeout:g}s"
    except StoreUnavailable as exc:
        return exc.reason
    except Exception as exc:
        # The message may quote a value; the frames name only code.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("store search failed unexpectedly",
                  extra={"store": name, "error_type": type(exc).__name__, "frames": frames})  # fmt: skip
        return f"unexpected error ({type(exc).__name__})"
