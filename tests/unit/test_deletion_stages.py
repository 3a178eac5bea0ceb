"""The deletion worker's stages with fakes for their ports: the worker routes each job to its operation's stage,
the answer waits its grace for pending providers, a correction waits for its request, and an erasure batch fails
only the jobs it must."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, cast

import pytest

from services.common.events import Event, utcnow
from services.common.topics import TopicNames
from services.deletion.erasure import ErasureOutcome
from services.deletion.events import DeletionEvents
from services.deletion.jobs import Job
from services.deletion.notices import NoticeStatus
from services.deletion.settings import DeletionSettings
from services.deletion.stages.answer import Answer
from services.deletion.stages.context import Ports, StageContext
from services.deletion.stages.correct import Correct
from services.deletion.stages.delete import Delete
from services.deletion.worker import DeletionWorker
from tests.unit.test_erasure_plan import DATAMAP  # one sql store, app

SUBJECT = "5e" * 32
SEALED = {"key_id": "dk-1", "nonce": "AA==", "ciphertext": "AQ=="}
JOB = Job("r-1", SUBJECT, "delete", "erasing", 0, 0, None, SEALED, None, None)


@dataclass
class FakeJobs:
    moves: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def move(self, job: Job, stage: str, conn: object = None, **how: Any) -> None:
        self.moves.append((job.request_id, stage, how))

    def fail(self, job: Job, exc: Exception) -> None:
        self.failed.append((job.request_id, str(exc)))

    def release(self, *jobs: Job) -> None:
        self.released.extend(job.request_id for job in jobs)

    def save_outcomes(self, conn: object, job: Job, outcomes: object) -> None:
        return None


class FakeEngine:
    @contextmanager
    def begin(self) -> Iterator[object]:
        yield object()


@dataclass
class FakeOutbox:
    published: list[Event] = field(default_factory=list)

    def add(self, conn: object, topic: str, events: list[Event]) -> None:
        self.published.extend(events)


@dataclass
class FakeNotices:
    pending: list[str] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)

    def status(self, conn: object, job: Job) -> NoticeStatus:
        return NoticeStatus(pending=list(self.pending))

    def enqueue(self, conn: object, job: Job, identifiers: object) -> None:
        self.enqueued.append(job.request_id)

    def wakeup(self) -> None:
        return None


class FakeSealer:
    def open(self, sealed: object, subject_key: str, request_id: str) -> dict[str, Any]:
        if request_id == "shredded":
            raise LookupError("the data key was destroyed")
        return {"email": [f"{request_id}@example.com"]}


@dataclass
class FakeErasure:
    fails: bool = False
    asked: list[str | None] = field(default_factory=list)

    def erase_many(self, requests: list[tuple[object, str | None]]) -> list[ErasureOutcome]:
        self.asked.extend(key for _, key in requests)
        if self.fails:
            raise ConnectionError("the store went away")
        return [ErasureOutcome(stores=()) for _ in requests]


@dataclass
class Fakes:
    jobs: FakeJobs = field(default_factory=FakeJobs)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    notices: FakeNotices = field(default_factory=FakeNotices)
    erasure: FakeErasure = field(default_factory=FakeErasure)

    def context(self, **settings: Any) -> StageContext:
        holds = type("Holds", (), {"for_subject": lambda self, subject_key: ()})()
        ledger = type("Ledger", (), {"add": lambda self, *args, **kwargs: 1})()
        nothing = cast(Any, None)
        ports = Ports(cast(Any, FakeEngine()), cast(Any, self.outbox), cast(Any, FakeSealer()), cast(Any, self.erasure),
                      nothing, cast(Any, ledger), cast(Any, holds), cast(Any, self.notices), {}, nothing,
                      nothing)  # fmt: skip
        return StageContext(ports, DATAMAP, cast(Any, self.jobs), DeletionEvents(DATAMAP), "t",
                            DeletionSettings.model_construct(**settings), threading.Event(), lambda: None)  # fmt: skip


@dataclass
class FakeOperation:
    steps: list[tuple[str, str]] = field(default_factory=list)

    def erase(self, job: Job) -> None:
        self.steps.append(("erase", job.request_id))

    def verify(self, job: Job) -> None:
        self.steps.append(("verify", job.request_id))

    def answer(self, conn: object, job: Job, status: NoticeStatus) -> list[Event]:
        self.steps.append(("answer", job.request_id))
        return [DeletionEvents(DATAMAP).request_completed(job, "complied", "done")]


def answering(job: Job, erased_seconds_ago: float, pending: list[str]) -> tuple[Fakes, FakeOperation]:
    fakes, operation = Fakes(), FakeOperation()
    fakes.notices.pending = pending
    erased = replace(job, stage="answering", erased_at=utcnow() - timedelta(seconds=erased_seconds_ago))
    Answer(fakes.context(provider_grace_seconds=30.0)).answer(erased, operation)
    return fakes, operation


def test_the_answer_waits_its_grace_for_a_pending_provider() -> None:
    fakes, operation = answering(JOB, erased_seconds_ago=1, pending=["mailer"])
    assert fakes.jobs.moves == [("r-1", "answering", {"retry_in": 1.0})]
    assert operation.steps == [] and fakes.outbox.published == []


@pytest.mark.parametrize(("ago", "pending"), [(31, ["mailer"]), (1, [])])
def test_the_answer_is_the_operations_once_confirmed_or_the_grace_is_over(ago: float, pending: list[str]) -> None:
    fakes, operation = answering(JOB, erased_seconds_ago=ago, pending=pending)
    assert operation.steps == [("answer", "r-1")]
    assert fakes.jobs.moves == [("r-1", "complete", {"completed": True})]
    assert [event.event_type for event in fakes.outbox.published] == ["RequestCompleted"]


def test_a_correction_without_its_corrections_waits_for_its_request() -> None:
    fakes = Fakes()
    Correct(fakes.context()).erase(replace(JOB, operation="correct"))
    assert fakes.jobs.moves == [("r-1", "erasing", {"retry_in": 1.0})]
    assert fakes.jobs.failed == [] and fakes.outbox.published == []


def test_an_erasure_batch_fails_only_the_job_it_could_not_plan() -> None:
    fakes = Fakes()
    jobs = [JOB, replace(JOB, request_id="shredded"), replace(JOB, request_id="r-2", verifications=1)]
    Delete(fakes.context()).erase_batch(jobs)
    assert fakes.jobs.failed == [("shredded", "the data key was destroyed")]
    assert fakes.erasure.asked == ["r-1", "r-2#1"]  # a second erase round has a journal entry of its own
    assert fakes.jobs.moves == [("r-1", "verifying", {"erased": True}), ("r-2", "verifying", {"erased": True})]
    assert fakes.notices.enqueued == ["r-1", "r-2"]


def test_an_erasure_that_fails_fails_every_job_of_its_batch() -> None:
    fakes = Fakes(erasure=FakeErasure(fails=True))
    Delete(fakes.context()).erase_batch([JOB, replace(JOB, request_id="r-2")])
    assert fakes.jobs.failed == [("r-1", "the store went away"), ("r-2", "the store went away")]
    assert fakes.jobs.moves == []


def worker_with(fakes: Fakes, operations: Mapping[str, FakeOperation]) -> tuple[DeletionWorker, list[str]]:
    nothing = cast(Any, None)
    worker = DeletionWorker(Ports(nothing, *[nothing] * 10), DATAMAP, TopicNames(""),
                            DeletionSettings.model_construct(), threading.Event())  # fmt: skip
    batched: list[str] = []
    worker.jobs = cast(Any, fakes.jobs)
    worker.operations = dict(operations)
    worker.answering = cast(Any, type("Answering", (), {
        "answer": lambda self, job, operation: operation.answer(None, job, NoticeStatus()),
    })())  # fmt: skip
    worker.delete = cast(Any, type("Batch", (), {"erase_batch": lambda self, jobs: batched.extend(
        job.request_id for job in jobs)})())  # fmt: skip
    return worker, batched


def test_the_worker_runs_each_jobs_stage_of_its_operation() -> None:
    fakes, delete, correct = Fakes(), FakeOperation(), FakeOperation()
    worker, batched = worker_with(fakes, {"delete": delete, "correct": correct})
    jobs = [JOB, replace(JOB, request_id="v-1", stage="verifying"), replace(JOB, request_id="a-1", stage="answering"),
            replace(JOB, request_id="c-1", operation="correct"),
            replace(JOB, request_id="c-2", operation="correct", stage="verifying")]  # fmt: skip
    worker.step_all(jobs)
    worker.pool.shutdown(wait=True)
    assert batched == ["r-1"]  # deletions due for erasure go together, beside the pool
    assert sorted(delete.steps) == [("answer", "a-1"), ("verify", "v-1")]
    assert sorted(correct.steps) == [("erase", "c-1"), ("verify", "c-2")]
    assert sorted(fakes.jobs.released) == ["a-1", "c-1", "c-2", "r-1", "v-1"]
    assert fakes.jobs.failed == []


def test_a_step_that_fails_is_handed_to_the_job_store_and_released() -> None:
    fakes = Fakes()
    worker, _ = worker_with(fakes, {"delete": FakeOperation()})
    worker.step_safely(replace(JOB, operation="unknown"))
    worker.pool.shutdown(wait=True)
    assert fakes.jobs.failed == [("r-1", "'unknown'")]
    assert fakes.jobs.released == ["r-1"]
