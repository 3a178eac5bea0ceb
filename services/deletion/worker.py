"""The deletion worker: claims due jobs and runs each one's stage (`stages/`: erase, verify, answer; per operation,
delete or correct). Each stage commits with its events; a failed step is retried."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
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
                    jobs = self.jobs.claim(self.settings.claim_batch)
                    self.step_all(jobs)
                    self.answering.report_overdue()
                    if time.monotonic() >= self.next_recheck:
                        self.next_recheck = time.monotonic() + self.settings.recheck_corrections_seconds
                        self.correct.recheck()
                    if not jobs:
                        self.wakeup.wait(self.settings.poll_seconds)
                        self.wakeup.clear()
            finally:
                self.pool.shutdown(wait=True)

    def alive(self) -> None:
        self.last_loop_at = datetime.now(UTC)

    def step_all(self, jobs: list[Job]) -> None:
        """Deletions due for erasure are erased together (a log store is rewritten once for all of them); every
        other step runs concurrently, beside that batch, so the verification walks of many requests share their
        log passes."""
        erasing = [job for job in jobs if job.batched]
        others = [self.pool.submit(self.step_safely, job) for job in jobs if not job.batched]
        try:
            if erasing:
                self.delete.erase_batch(erasing)  # meanwhile the pool verifies and answers the others
        finally:
            self.jobs.release(*erasing)
        for step in others:
            step.result()

    def step_safely(self, job: Job) -> None:
        self.alive()
        try:
            self.step(job)
        except Exception as exc:
            self.jobs.fail(job, exc)
        finally:
            self.jobs.release(job)
            self.relay_wakeup.set()

    def step(self, job: Job) -> None:
        """Run the job's stage for its operation."""
        operation = self.operations[job.operation]
        if job.stage == "answering":
            self.answering.answer(job, operation)
        else:
            {"erasing": operation.erase, "verifying": operation.verify}[job.stage](job)
