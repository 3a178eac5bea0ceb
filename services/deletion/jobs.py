"""Deletion's job store: due jobs claimed under a lease as typed `Job`s, moved from stage to stage only while still
leased, and what a job's steps keep beside it (each store's outcome per erase round, the events already reported)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from services.common.crypto import KeyShredded
from services.common.db import insert_for
from services.common.event_types import EventType
from services.common.events import utcnow
from services.common.leases import LeaseLost, Leases, retry_delay
from services.deletion import orm
from services.deletion.erasure import StoreOutcome
from services.deletion.settings import DeletionSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
DUE_STAGES = ("erasing", "verifying", "answering")


@dataclass(frozen=True)
class Job:
    """One delete or correct request as its steps see it: where it stands and its sealed inputs."""

    request_id: str
    subject_key: str
    operation: str  # delete | correct
    stage: str  # discovering | erasing | verifying | answering | complete | abandoned
    attempts: int
    verifications: int  # erase-and-verify rounds done
    verified: bool | None
    identifiers_sealed: Mapping[str, str] | None
    corrections_sealed: Mapping[str, str] | None
    erased_at: datetime | None
    subject_type: str = "consumer"  # whose records: only the data map's collections of that type are erased
    received_at: datetime | None = None  # the legal clock's start, for the verified-latency metric

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> Job:
        return cls(**{field.name: row._mapping[field.name] for field in fields(cls)})

    @property
    def batched(self) -> bool:
        """A deletion due for erasure: erased together with the others claimed beside it."""
        return self.stage == "erasing" and self.operation == "delete"


# Requests already erased are verified and answered before new ones are erased: with thousands queued, taking
# them by due time alone starved verification until the whole queue was erased.
_FINISH_FIRST = (sa.case((orm.jobs.c.stage == "answering", 0), (orm.jobs.c.stage == "verifying", 1), else_=2),
                 orm.jobs.c.next_attempt_at)  # fmt: skip


def claim_jobs(leases: Leases, limit: int, linger_seconds: float = 0.0) -> list[Job]:
    """Lease up to `limit` due jobs, answers and verifications first. With a linger, deletions due for erasure are
    claimed together, and only once the oldest of them has waited `linger_seconds`."""
    now, jobs = utcnow(), orm.jobs
    chosen = None
    if linger_seconds > 0:
        # Decided in the claiming statement itself: a check before it could see none, and the claim then take the
        # first to arrive alone while the others were still being consumed. Other steps are never held. Each lease
        # re-checks only that its job is still due and free: leasing the oldest must not hold back its batch.
        other = orm.jobs.alias("lingering")
        has_lingered = sa.exists().where(
            other.c.stage == "erasing", other.c.operation == "delete",
            other.c.next_attempt_at <= now - timedelta(seconds=linger_seconds), leases.free(now, other),
        )  # fmt: skip
        erasing = sa.and_(jobs.c.stage == "erasing", jobs.c.operation == "delete")
        chosen = sa.or_(sa.not_(erasing), has_lingered)
    rows = leases.claim_due(jobs.c.stage.in_(DUE_STAGES), _FINISH_FIRST, limit, now, chosen)
    return [Job.from_row(row) for row in rows]


class JobStore:
    """The jobs table as the worker uses it: claim, move to a stage (or retry one), record a verification."""

    def __init__(self, engine: sa.Engine, settings: DeletionSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.leases = Leases(engine, orm.jobs, "request_id", settings.lease_seconds)

    def claim(self, limit: int) -> list[Job]:
        return claim_jobs(self.leases, limit, self.settings.erasure_linger_seconds)

    def heartbeat(self) -> AbstractContextManager[None]:
        return self.leases.heartbeat()

    def release(self, *jobs: Job) -> None:
        self.leases.release(*(job.request_id for job in jobs))

    def move(self, job: Job, stage: str, conn: sa.Connection | None = None, retry: bool = False,
             retry_in: float | None = None, erased: bool = False, completed: bool = False) -> None:  # fmt: skip
        """Commit the job's next stage, only while this process holds its lease (LeaseLost otherwise, which rolls
        back the step's transaction: the process that took the job over does the step again)."""
        values: dict[str, Any] = {"stage": stage, "next_attempt_at": utcnow()}
        if retry:
            delay = retry_delay(job.attempts, self.settings.retry_initial_seconds, self.settings.retry_max_seconds)
            values |= {"attempts": job.attempts + 1, "next_attempt_at": utcnow() + delay}
        if retry_in is not None:
            values["next_attempt_at"] = utcnow() + timedelta(seconds=retry_in)
        if erased:
            values["erased_at"] = utcnow()
        if completed:
            values["completed_at"] = utcnow()
        with self._transaction(conn) as within:
            self.leases.settle(within, job.request_id, values)

    def record_verification(self, conn: sa.Connection, job: Job, attempt: int, verified: bool) -> None:
        conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == job.request_id)
                     .values(verifications=attempt, verified=verified))  # fmt: skip

    def fail(self, job: Job, exc: Exception) -> None:
        """Log and reschedule (abandon, if its identifiers were shredded); never raises, so one job's failure
        cannot stop the worker. If even rescheduling fails, the job's lease lapses and it is claimed again; if the
        lease was lost, the job is another process's now and nothing is written."""
        try:
            if isinstance(exc, LeaseLost):
                log.warning("lease lost mid-step; another process has the job", extra={"request_id": job.request_id})
                return
            if isinstance(exc, KeyShredded):
                log.warning("identifiers shredded before erasure; job abandoned", extra={"request_id": job.request_id})
                self.move(job, "abandoned")
                return
            log.error("deletion step failed; it will be retried", exc_info=exc, extra={"request_id": job.request_id})
            self.move(job, job.stage, retry=True)
        except LeaseLost:
            log.warning("lease lost before rescheduling; another process has the job",
                        extra={"request_id": job.request_id})  # fmt: skip
        except Exception:
            log.exception("could not reschedule a failed step", extra={"request_id": job.request_id})

    def save_outcomes(self, conn: sa.Connection, job: Job, outcomes: tuple[StoreOutcome, ...]) -> None:
        """Each store's outcome of this erase round, replacing what a replayed round wrote."""
        table = orm.store_outcomes
        for outcome in outcomes:
            key = (table.c.request_id == job.request_id, table.c.erase_round == job.verifications,
                   table.c.store == outcome.store)  # fmt: skip
            conn.execute(sa.delete(table).where(*key))
            conn.execute(sa.insert(table).values(request_id=job.request_id, erase_round=job.verifications,
                                                 store=outcome.store, outcome=outcome.to_json()))  # fmt: skip

    def outcomes(self, job: Job, rounds: int, conn: sa.Connection | None = None) -> list[StoreOutcome]:
        """Every store's outcome, summed over the erase rounds so far (a round per failed verification). Inside a
        transaction pass its connection: a second one per step exhausts the pool when many steps run at once."""
        table = orm.store_outcomes
        query = (sa.select(table).where(table.c.request_id == job.request_id, table.c.erase_round < rounds)
                 .order_by(table.c.erase_round, table.c.store))  # fmt: skip
        with self._connection(conn) as within:
            rows = within.execute(query).all()
        merged: dict[str, StoreOutcome] = {}
        for row in rows:
            merged[row.store] = merged_outcome(merged.get(row.store), StoreOutcome.from_json(row.outcome))
        return list(merged.values())

    def _transaction(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]:
        return nullcontext(conn) if conn is not None else self.engine.begin()

    def _connection(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]:
        return nullcontext(conn) if conn is not None else self.engine.connect()


def journal_key(request_id: str, erase_round: int) -> str:
    # Each verification round that found leftovers erases again under a journal entry of its own.
    return request_id if not erase_round else f"{request_id}#{erase_round}"


def unreported(conn: sa.Connection, request_id: str, keyed: Mapping[tuple[str, EventType], T]) -> list[T]:
    """The items whose (subject, event type) the request has not reported yet, in order, marked reported by one
    INSERT … ON CONFLICT DO NOTHING RETURNING: a replayed or concurrent step reports nothing twice."""
    if not keyed:
        return []
    table = orm.reported
    rows = [{"request_id": request_id, "subject": subject, "event_type": kind} for subject, kind in keyed]
    statement = (insert_for(conn, table).values(rows)
                 .on_conflict_do_nothing(index_elements=["request_id", "subject", "event_type"])
                 .returning(table.c.subject, table.c.event_type))  # fmt: skip
    fresh = {(row.subject, row.event_type) for row in conn.execute(statement)}
    return [item for key, item in keyed.items() if key in fresh]


def merged_outcome(before: StoreOutcome | None, after: StoreOutcome) -> StoreOutcome:
    """One store's outcome over two erase rounds: counts added, exemptions of both."""
    if before is None:
        return after
    counts = {name: dict(actions) for name, actions in before.counts.items()}
    for name, actions in after.counts.items():
        for action, records in actions.items():
            counts.setdefault(name, {})[action] = counts.get(name, {}).get(action, 0) + records
    return StoreOutcome(before.store, counts, before.exempt + after.exempt)
