"""Overlapping claims in the deletion worker, on both of the services' databases: the next batch is erased while
the last one is still being verified, no claim takes a job whose step is in flight, a process that dies between two
claims loses its jobs to another that does each step once, and every step of every job runs once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa

from services.common.events import utcnow
from services.common.topics import TopicNames
from services.deletion import orm
from services.deletion.jobs import Job
from services.deletion.settings import DeletionSettings
from services.deletion.stages.context import Ports
from services.deletion.worker import DeletionWorker

pytestmark = pytest.mark.integration


def add_job(deletion_db: sa.Engine, request_id: str, stage: str) -> None:
    now = utcnow()
    with deletion_db.begin() as conn:
        conn.execute(sa.insert(orm.jobs).values(
            request_id=request_id, subject_key="sk", operation="delete", received_at=now, stage=stage, attempts=0,
            verifications=0, next_attempt_at=now - timedelta(seconds=1),
        ))  # fmt: skip


def stages(deletion_db: sa.Engine) -> dict[str, str]:
    with deletion_db.connect() as conn:
        return {row.request_id: row.stage for row in conn.execute(sa.select(orm.jobs.c.request_id, orm.jobs.c.stage))}


class Steps:
    """The stages as the worker calls them, each committing its move through the real job store (under the lease);
    a verification waits for `go`. `done` counts the steps that committed; `waiting`, the verifications held."""

    def __init__(self, worker: DeletionWorker) -> None:
        self.worker, self.go = worker, threading.Event()
        self.waiting = 0
        self.done: Counter[tuple[str, str]] = Counter()
        self.batches: list[tuple[list[str], int]] = []  # (erased, verifications in flight meanwhile)
        self.lock = threading.Lock()

    def _commit(self, step: str, job: Job, stage: str) -> None:
        self.worker.jobs.move(job, stage, completed=stage == "complete")
        with self.lock:
            self.done[(step, job.request_id)] += 1

    def erase_batch(self, jobs: list[Job]) -> None:
        with self.lock:
            self.batches.append(([job.request_id for job in jobs], self.waiting))
        for job in jobs:
            self._commit("erase", job, "verifying")

    def erase(self, job: Job) -> None:
        self.erase_batch([job])

    def verify(self, job: Job) -> None:
        with self.lock:
            self.waiting += 1
        assert self.go.wait(30), "the test never let the verification go on"
        with self.lock:
            self.waiting -= 1
        self._commit("verify", job, "answering")

    def answer(self, job: Job, operation: object) -> None:
        self._commit("answer", job, "complete")

    def report_overdue(self) -> None:
        pass

    def recheck(self) -> None:
        pass


def worker_on(deletion_db: sa.Engine, **settings: Any) -> tuple[DeletionWorker, Steps]:
    nothing = cast(Any, None)
    settings = {"lease_seconds": 60.0, "poll_seconds": 0.05, **settings}
    worker = DeletionWorker(Ports(deletion_db, *[nothing] * 10), nothing, TopicNames(""),
                            DeletionSettings.model_construct(**settings), threading.Event())  # fmt: skip
    steps = Steps(worker)
    worker.delete = worker.correct = worker.answering = cast(Any, steps)
    worker.operations = {"delete": cast(Any, steps)}
    return worker, steps


def test_the_next_batch_is_erased_while_the_last_is_verified_and_each_step_runs_once(deletion_db: sa.Engine) -> None:
    for request_id in ("e-1", "e-2", "e-3", "e-4"):
        add_job(deletion_db, request_id, "erasing")
    worker, steps = worker_on(deletion_db, claim_batch=2, concurrent_steps=4)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while len(steps.batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The first batch's verifications are held; the loop did not wait for them to claim and erase the second.
        assert steps.batches == [(["e-1", "e-2"], 0), (["e-3", "e-4"], 2)]
        steps.go.set()
        while set(stages(deletion_db).values()) != {"complete"} and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        steps.go.set()
        stop.set()
        worker.wakeup.set()
        loop.join(10)
    assert stages(deletion_db) == dict.fromkeys(("e-1", "e-2", "e-3", "e-4"), "complete")
    assert steps.done == Counter({(step, job): 1 for step in ("erase", "verify", "answer")
                                  for job in ("e-1", "e-2", "e-3", "e-4")})  # fmt: skip


def test_no_claim_takes_a_job_whose_step_is_in_flight(deletion_db: sa.Engine) -> None:
    add_job(deletion_db, "v-1", "verifying")
    add_job(deletion_db, "e-1", "erasing")
    worker, steps = worker_on(deletion_db, claim_batch=8, concurrent_steps=4)
    first = worker.jobs.claim(8)
    assert [job.request_id for job in first] == ["v-1", "e-1"]
    [verifying] = worker.step_all(first)  # v-1 in the pool, held; e-1 erased and due for verification
    second = worker.jobs.claim(8)
    assert [job.request_id for job in second] == ["e-1"], "v-1 is still leased while its step runs"
    worker.step_all(second)
    worker.jobs.leases.renew()  # the heartbeat keeps the in-flight steps' leases
    assert worker.jobs.claim(8) == []
    steps.go.set()
    verifying.result(10)
    worker.pool.shutdown(wait=True)
    assert stages(deletion_db) == {"v-1": "answering", "e-1": "answering"}
    assert steps.done == Counter({("erase", "e-1"): 1, ("verify", "e-1"): 1, ("verify", "v-1"): 1})


def test_a_process_that_dies_between_two_claims_loses_its_jobs_and_each_step_commits_once(
    deletion_db: sa.Engine,
) -> None:
    add_job(deletion_db, "v-1", "verifying")
    dying, held = worker_on(deletion_db, claim_batch=8, concurrent_steps=2)
    [in_flight] = dying.step_all(dying.jobs.claim(8))
    other, steps = worker_on(deletion_db, claim_batch=8, concurrent_steps=2)
    assert other.jobs.claim(8) == [], "leased to the first process"
    with deletion_db.begin() as conn:  # the first process died: nobody renews its lease, which lapses
        conn.execute(sa.update(orm.jobs).values(lease_until=utcnow() - timedelta(seconds=1)))
    steps.go.set()
    [taken_over] = other.step_all(other.jobs.claim(8))
    taken_over.result(10)
    held.go.set()  # the dead process's step, had it gone on, may not commit: its lease is another's now
    in_flight.result(10)
    for worker in (dying, other):
        worker.pool.shutdown(wait=True)
    assert stages(deletion_db) == {"v-1": "answering"}
    assert steps.done == Counter({("verify", "v-1"): 1}) and held.done == Counter()
