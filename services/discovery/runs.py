"""Discovery's run store: due runs claimed under a lease as typed `Run`s, their status committed only while still
leased, and each store's latest outcome kept beside the run (so an unchanged store is not reported again)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.common.events import utcnow
from services.common.leases import Leases, retry_delay
from services.discovery import orm
from services.discovery.inventory import StoreOutcome
from services.discovery.settings import DiscoverySettings


@dataclass(frozen=True)
class Run:
    """One request's discovery as the worker sees it: what to walk, for what, and how often it was tried."""

    request_id: str
    subject_key: str
    request_type: str
    identifiers_sealed: Mapping[str, str]
    date_range_start: date | None
    date_range_end: date | None
    received_at: datetime
    attempts: int
    subject_type: str = "consumer"  # whose records: only the data map's collections of that type are walked

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> Run:
        return cls(**{field.name: row._mapping[field.name] for field in fields(cls)})


class RunStore:
    """The runs table as the worker uses it: claim due runs, commit a walk's status, reschedule a failed one."""

    def __init__(self, engine: sa.Engine, settings: DiscoverySettings) -> None:
        self.engine = engine
        self.settings = settings
        self.leases = Leases(engine, orm.runs, "request_id", settings.lease_seconds)

    def claim(self, limit: int) -> list[Run]:
        """Lease up to `limit` pending runs that are due, the longest waiting first."""
        runs = orm.runs
        rows = self.leases.claim_due(runs.c.status == "pending", (runs.c.next_attempt_at,), limit, utcnow())
        return [Run.from_row(row) for row in rows]

    def mark(self, conn: sa.Connection, run: Run, attempt: int, status: str, retry_at: datetime | None = None) -> None:
        """Commit the run's new status, only while this process holds its lease: LeaseLost otherwise, which rolls
        back the walk's transaction (the process that took the run over walks it again)."""
        values: dict[str, Any] = {"attempts": attempt, "status": status}
        if status == "complete":
            values["completed_at"] = utcnow()
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        self.leases.settle(conn, run.request_id, values, orm.runs.c.status == "pending")

    def retry_at(self, attempt: int) -> datetime:
        """When a walk that failed for the `attempt`-th time is tried again."""
        return utcnow() + retry_delay(attempt - 1, self.settings.retry_initial_seconds, self.settings.retry_max_seconds)

    def reschedule(self, run: Run) -> None:
        with self.engine.begin() as conn:
            self.mark(conn, run, run.attempts + 1, status="pending", retry_at=self.retry_at(run.attempts + 1))

    def finish(self, run: Run, status: str) -> None:
        with self.engine.begin() as conn:
            self.mark(conn, run, run.attempts + 1, status=status)

    @staticmethod
    def record_outcomes(conn: sa.Connection, run: Run, outcomes: Sequence[StoreOutcome],
                        attempt: int) -> list[StoreOutcome]:  # fmt: skip
        """Keep each store's outcome of this walk; returns those to report: changed, new, or still unavailable."""
        table = orm.store_outcomes
        query = sa.select(table).where(table.c.request_id == run.request_id)
        previous = {row.store: row for row in conn.execute(query)}
        changed = []
        for outcome in outcomes:
            before = previous.get(outcome.store)
            unchanged = before is not None and (before.outcome, before.records) == (outcome.outcome, outcome.records)
            if unchanged and outcome.outcome != "unavailable":
                continue
            row = {"outcome": outcome.outcome, "records": outcome.records, "attempt": attempt,
                   "reason": outcome.reason, "updated_at": utcnow()}  # fmt: skip
            if before is None:
                conn.execute(sa.insert(table).values(request_id=run.request_id, store=outcome.store, **row))
            else:
                conn.execute(sa.update(table).where(table.c.request_id == run.request_id,
                                                    table.c.store == outcome.store).values(**row))  # fmt: skip
            changed.append(outcome)
        return changed
