"""The deletion worker: claims due jobs and runs each one's stage (`stages/`: erase, verify, answer; per operation,
delete or correct). Each stage commits with its events; a failed step is retried.

Claims overlap: the loop does not wait for a claim's verify and answer steps before it claims again, so the erasure
of the next batch runs while the pool verifies and answers the last one. A job stays leased (and renewed) until its
step ends, so no claim takes a job whose step is still in flight; at most twice `claim_batch` steps are in flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from services.common.datamap import DataMap
from services.common.topics import DELETION_RESULTS, TopicNames
from services.deletion.events import DeletionEvents
from services.deletion.jobs import Job, JobStore
from services.deletion.settings import DeletionSettings
from services.deletion.stages.answer import Answer
from services.deletion.stages.context import Operation, Ports, StageContext
from services.deletion.stages.correct import Correct
from services.deletion.stages.delete import Delete


class DeletionWorker:
    """A loop over the stages: claim due jobs, erase the deletions among them as one batch, step the others."""

    def __init__(self, ports: Ports, datamap: DataMap, topics: TopicNames, settings: DeletionSettings,
                 relay_wakeup: threading.Event) -> None:  # fmt: skip
        self.settings = settings
        self.relay_wakeup = relay_wakeup
        self.wakeup = threading.Event()
        self.last_loop_at = datetime.now(UTC)
        self.next_recheck = 0.0
        self.pool = ThreadPoolExecutor(settings.concurrent_steps, thread_name_prefix="deletion-step")
        self.in_flight: set[Future[None]] = set()
        self.jobs = JobStore(ports.engine, settings)
        context = StageContext(ports, datamap, self.jobs, DeletionEvents(datamap), topics(DELETION_RESULTS), settings,
                               relay_wakeup, self.alive)  # fmt: skip
        self.delete, self.correct, self.answering = Delete(context), Correct(context), Answer(context)
        self.operations: dict[str, Operation] = {"delete": self.delete, "correct": self.correct}

    def run(self, stop: threading.Event) -> None:
        with self.jobs.heartbeat():
            try:
                while not stop.is_set():
                    self.alive()
                    self.make_room()
                    self.wakeup.clear()  # before the claim: a job that is due after it wakes the wait below
                    jobs = self.jobs.claim(self.settings.claim_batch)
                    self.step_all(jobs)
                    self.answering.report_overdue()
                    if time.monotonic() >= self.next_recheck:
                        self.next_recheck = time.monotonic() + self.settings.recheck_corrections_seconds
                        self.correct.recheck()
                    if not jobs:
                        self.wakeup.wait(self.settings.poll_seconds)
            finally:
                self.pool.shutdown(wait=True)

    def alive(self) -> None:
        self.last_loop_at = datetime.now(UTC)

    def make_room(self) -> None:
        """Before a claim: forget the steps that ended, and wait (beating `alive`) while two claims' worth are
        still in flight, so a claim never queues more than the pool can soon take."""
        self.in_flight = {step for step in self.in_flight if not step.done()}
        while len(self.in_flight) >= 2 * self.settings.claim_batch:
            self.alive()
            _, pending = wait(self.in_flight, timeout=self.settings.poll_seconds, return_when=FIRST_COMPLETED)
            self.in_flight = set(pending)

    def step_all(self, jobs: list[Job]) -> list[Future[None]]:
        """Deletions due for erasure are erased together (a log store is rewritten once for all of them); every
        other step runs in the pool, beside that batch and beside the next claim's: returns those steps without
        waiting for them (each releases its job's lease when it ends)."""
        erasing = [job for job in jobs if job.batched]
        others = [self.pool.submit(self.step_safely, job) for job in jobs if not job.batched]
        self.in_flight.update(others)
        try:
            if erasing:
                self.delete.erase_batch(erasing)  # meanwhile the pool verifies and answers the others
        finally:
            self.jobs.release(*erasing)
        return others

    def step_safely(self, job: Job) -> None:
        self.alive()
        try:
            self.step(job)
        except Exception as exc:
            self.jobs.fail(job, exc)
        finally:
            self.jobs.release(job)
            self.relay_wakeup.set()
            self.wakeup.set()  # its job may be due again at once (verified → answering): claim without polling

    def step(self, job: Job) -> None:
        """Run the job's stage for its operation."""
        operation = self.operations[job.operation]
        if job.stage == "answering":
            self.answering.answer(job, operation)
        else:
            {"erasing": operation.erase, "verifying": operation.verify}[job.stage](job)
