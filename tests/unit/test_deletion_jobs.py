"""Deletion's job store: typed jobs read from the table, the retry pacing, a step's stage committed under its lease,
a failed step rescheduled (or abandoned once its identifiers are shredded), store outcomes summed over rounds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.crypto import KeyShredded
from services.common.db import make_engine
from services.common.events import utcnow
from services.common.leases import LeaseLost, retry_delay
from services.deletion import orm
from services.deletion.erasure import StoreOutcome
from services.deletion.erasure.outcome import Exemption
from services.deletion.jobs import Job, JobStore, merged_outcome
from services.deletion.settings import DeletionSettings

SETTINGS = DeletionSettings.model_construct(retry_initial_seconds=2.0, retry_max_seconds=10.0, lease_seconds=15.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    engine = make_engine(f"sqlite:///{tmp_path}/jobs.db")
    orm.metadata.create_all(engine)
    yield JobStore(engine, SETTINGS)
    engine.dispose()


def add_job(store: JobStore, request_id: str, stage: str = "erasing", operation: str = "delete",
            attempts: int = 0) -> None:  # fmt: skip
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(sa.insert(orm.jobs).values(
            request_id=request_id, subject_key="sk", operation=operation, received_at=now, stage=stage,
            attempts=attempts, verifications=0, next_attempt_at=now - timedelta(seconds=1),
            identifiers_sealed={"key_id": "dk-1", "nonce": "AA==", "ciphertext": "AQ=="},
        ))  # fmt: skip


def row(store: JobStore, request_id: str) -> sa.Row[object]:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(orm.jobs).where(orm.jobs.c.request_id == request_id)).one()


def test_claimed_jobs_are_typed_and_say_whether_they_are_batched(store: JobStore) -> None:
    add_job(store, "erase-me")
    add_job(store, "correct-me", operation="correct")
    add_job(store, "verify-me", stage="verifying")
    jobs = {job.request_id: job for job in store.claim(limit=8)}
    assert all(isinstance(job, Job) for job in jobs.values())
    erase = jobs["erase-me"]
    assert (erase.subject_key, erase.operation, erase.stage, erase.attempts, erase.verified) == (
        "sk", "delete", "erasing", 0, None)  # fmt: skip
    assert erase.identifiers_sealed == {"key_id": "dk-1", "nonce": "AA==", "ciphertext": "AQ=="}
    assert [name for name, job in sorted(jobs.items()) if job.batched] == ["erase-me"]
    assert store.leases.held() == set(jobs)


def test_the_wait_between_attempts_doubles_up_to_its_ceiling() -> None:
    assert [retry_delay(n, 2.0, 10.0).total_seconds() for n in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_retried_stage_counts_the_attempt_and_waits_its_backoff(store: JobStore) -> None:
    add_job(store, "r-1", attempts=2)
    [job] = store.claim(limit=8)
    before = utcnow()
    store.move(job, "erasing", retry=True)
    moved = row(store, "r-1")
    assert (moved.stage, moved.attempts, moved.lease_owner, moved.lease_until) == ("erasing", 3, None, None)
    assert before + timedelta(seconds=8) <= moved.next_attempt_at <= utcnow() + timedelta(seconds=8)


def test_an_erased_or_completed_stage_is_stamped(store: JobStore) -> None:
    add_job(store, "r-1")
    [job] = store.claim(limit=8)
    with store.engine.begin() as conn:
        store.move(job, "verifying", conn=conn, erased=True)
    moved = row(store, "r-1")
    assert (moved.stage, moved.attempts) == ("verifying", 0)
    assert isinstance(moved.erased_at, datetime) and moved.completed_at is None


def test_a_job_moved_without_its_lease_raises_lease_lost(store: JobStore) -> None:
    add_job(store, "r-1")
    [job] = store.claim(limit=8)
    store.move(job, "verifying")  # released by its commit
    with pytest.raises(LeaseLost):
        store.move(job, "answering")
    assert row(store, "r-1").stage == "verifying"


@pytest.mark.parametrize(("failure", "stage", "attempts"), [
    (RuntimeError("the store went away"), "erasing", 1),
    (KeyShredded("dk-1"), "abandoned", 0),
    (LeaseLost("taken over"), "erasing", 0),  # another process's now: nothing written, the lease stays
])  # fmt: skip
def test_a_failed_step_is_rescheduled_abandoned_or_left_alone(store: JobStore, failure: Exception, stage: str,
                                                              attempts: int) -> None:  # fmt: skip
    add_job(store, "r-1")
    [job] = store.claim(limit=8)
    store.fail(job, failure)
    failed = row(store, "r-1")
    assert (failed.stage, failed.attempts) == (stage, attempts)
    assert (failed.lease_owner is None) == (not isinstance(failure, LeaseLost))


def test_failing_never_raises_even_when_the_database_is_gone(store: JobStore) -> None:
    add_job(store, "r-1")
    [job] = store.claim(limit=8)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE deletion_jobs"))
    store.fail(job, RuntimeError("the store went away"))  # logged; the lease lapses and the job is claimed again


def test_store_outcomes_are_summed_over_the_erase_rounds(store: JobStore) -> None:
    first = StoreOutcome("app", {"customers": {"deleted": 1}, "orders": {"retained": 2}},
                         (Exemption("orders", "legal_obligation", "tax", 2),))  # fmt: skip
    again = StoreOutcome("app", {"customers": {"deleted": 1}, "sessions": {"deleted": 3}})
    add_job(store, "r-1")
    job = Job.from_row(row(store, "r-1"))
    with store.engine.begin() as conn:
        store.save_outcomes(conn, job, (first,))
        store.save_outcomes(conn, job, (first,))  # a replayed round replaces its own outcome
        store.save_outcomes(conn, Job(**{**vars(job), "verifications": 1}), (again,))
    [summed] = store.outcomes(job, rounds=2)
    assert summed.counts == {"customers": {"deleted": 2}, "orders": {"retained": 2}, "sessions": {"deleted": 3}}
    assert summed.exempt == first.exempt
    assert store.outcomes(job, rounds=1) == [StoreOutcome.from_json(first.to_json())]
    assert merged_outcome(None, again) is again
