"""What an erasure did, per store: records per collection and action, exemptions, and the journal that keeps those
counts the same when a request is replayed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from services.common.db import insert_for
from services.deletion.erasure.tables import erasure_journal

Action = Literal["deleted", "deidentified", "retained", "held"]
ACTIONS: tuple[Action, ...] = ("deleted", "deidentified", "retained", "held")
LEGAL_HOLD = "legal_hold"


class ErasureError(ValueError):
    """The store cannot be erased as the data map says (a NOT NULL column to null, a hash into an integer column)."""

    def __init__(self, store: str, problem: str) -> None:
        self.store = store
        self.problem = problem
        super().__init__(f"store {store}: {problem}")


@dataclass(frozen=True)
class Exemption:
    """Records of a collection kept under one exemption (a §1798.105(d) code, or `legal_hold`)."""

    collection: str
    code: str
    reason: str  # the statutory text, or "legal hold: <reason>"
    records: int
    retain_until: datetime | None = None  # the latest end of retention among them; None under a legal hold


@dataclass(frozen=True)
class StoreOutcome:
    store: str
    counts: Mapping[str, Mapping[str, int]]  # collection → action → records
    exempt: tuple[Exemption, ...] = ()
    replayed: bool = False  # the counts come from the journal of an earlier run of the same request

    def total(self, action: Action) -> int:
        return sum(actions.get(action, 0) for actions in self.counts.values())

    def to_json(self) -> str:
        exempt = [{**vars(item), "retain_until": _iso(item.retain_until)} for item in self.exempt]
        return json.dumps({"store": self.store, "counts": self.counts, "exempt": exempt}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoreOutcome:
        raw = json.loads(text)
        exempt = tuple(Exemption(**{**item, "retain_until": _parsed(item["retain_until"])}) for item in raw["exempt"])
        return cls(raw["store"], raw["counts"], exempt)


@dataclass(frozen=True)
class ErasureOutcome:
    stores: tuple[StoreOutcome, ...]
    failures: Mapping[str, str] = field(default_factory=dict)  # store → reason, without identifier values

    @property
    def complete(self) -> bool:
        return not self.failures

    def store(self, name: str) -> StoreOutcome | None:
        return next((outcome for outcome in self.stores if outcome.store == name), None)


class OutcomeTally:
    """Counts records as an executor classifies them; `outcome()` freezes the result."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.counts: dict[str, dict[str, int]] = {}
        self.exempt: dict[tuple[str, str], tuple[str, int, datetime | None]] = {}

    def add(self, collection: str, action: Action, records: int = 1) -> None:
        actions = self.counts.setdefault(collection, {})
        actions[action] = actions.get(action, 0) + records

    def exempted(self, collection: str, code: str, reason: str, until: datetime | None, records: int = 1) -> None:
        _, count, latest = self.exempt.get((collection, code), (reason, 0, None))
        if until is not None and (latest is None or until > latest):
            latest = until
        self.exempt[(collection, code)] = (reason, count + records, latest)

    def outcome(self) -> StoreOutcome:
        exempt = tuple(Exemption(collection, code, reason, records, until)
                       for (collection, code), (reason, records, until) in sorted(self.exempt.items()))  # fmt: skip
        return StoreOutcome(self.store, {name: dict(actions) for name, actions in sorted(self.counts.items())}, exempt)


Settle = Callable[[StoreOutcome], StoreOutcome]  # called once the records are classified, before the store changes


def unsettled(outcome: StoreOutcome) -> StoreOutcome:
    return outcome


class ErasureJournal:
    """Per (request_id, store) outcome, in the caller's database, so a replayed request reports the first counts.

    `begin` is called after the records are classified and before the store changes: the first counts win, so a
    run that crashed after the store committed but before `record` is replayed with the counts it saw. `record`
    marks the store done; `recorded` returns a done store's outcome, and the executor then leaves the store alone.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def begin(self, request_id: str, outcome: StoreOutcome) -> StoreOutcome:
        with self.engine.begin() as conn:
            if _insert_absent(conn, request_id, outcome, "pending"):
                return outcome
            return self._read(conn, request_id, outcome.store) or outcome

    def record(self, request_id: str, outcome: StoreOutcome) -> None:
        with self.engine.begin() as conn:
            _insert_absent(conn, request_id, outcome, "done")
            conn.execute(sa.update(erasure_journal).values(state="done").where(*_key(request_id, outcome.store)))

    def recorded(self, request_id: str, store: str) -> StoreOutcome | None:
        with self.engine.connect() as conn:
            state = conn.scalar(sa.select(erasure_journal.c.state).where(*_key(request_id, store)))
            return self._read(conn, request_id, store) if state == "done" else None

    def settler(self, request_id: str) -> Settle:
        return lambda outcome: self.begin(request_id, outcome)

    @staticmethod
    def _read(conn: sa.Connection, request_id: str, store: str) -> StoreOutcome | None:
        text = conn.scalar(sa.select(erasure_journal.c.outcome).where(*_key(request_id, store)))
        return replace(StoreOutcome.from_json(text), replayed=True) if text else None


def _insert_absent(conn: sa.Connection, request_id: str, outcome: StoreOutcome, state: str) -> bool:
    """True when this call wrote the row; an existing row (the first counts) is left as it is."""
    row = {"request_id": request_id, "store": outcome.store, "state": state, "outcome": outcome.to_json(),
           "recorded_at": datetime.now(UTC)}  # fmt: skip
    insert = insert_for(conn, erasure_journal).values(row)
    statement = insert.on_conflict_do_nothing(index_elements=["request_id", "store"])
    return conn.execute(statement.returning(erasure_journal.c.store)).first() is not None


def _key(request_id: str, store: str) -> tuple[sa.ColumnElement[bool], ...]:
    return erasure_journal.c.request_id == request_id, erasure_journal.c.store == store


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parsed(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None
