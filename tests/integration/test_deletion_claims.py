"""How the deletion worker claims jobs, on both of the services' databases: answers and verifications first, and
with a linger, deletions due for erasure only together, once the oldest of them has waited (one batch, one pass
over the logs), decided in the claiming statement itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common.db import make_engine
from services.common.events import utcnow
from services.deletion import orm
from services.deletion.worker import claim_jobs


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('claims') / 'deletion.db'}"
    built = make_engine(url)
    orm.metadata.create_all(built)
    yield built
    built.dispose()


def add_job(engine: sa.Engine, request_id: str, stage: str, seconds_ago: float, operation: str = "delete",
            leased: bool = False) -> None:  # fmt: skip
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sa.insert(orm.jobs).values(
            request_id=request_id, subject_key="sk", operation=operation, received_at=now, stage=stage, attempts=0,
            verifications=0, next_attempt_at=now - timedelta(seconds=seconds_ago),
            lease_until=now + timedelta(seconds=60) if leased else None,
        ))  # fmt: skip


def claimed(engine: sa.Engine, linger: float) -> list[str]:
    return [row.request_id for row in claim_jobs(engine, limit=64, lease_seconds=60, linger_seconds=linger)]


def test_without_a_linger_every_due_job_is_claimed_at_once(engine: sa.Engine) -> None:
    add_job(engine, "erase-new", "erasing", 0)
    add_job(engine, "answer", "answering", 0)
    add_job(engine, "later", "erasing", -30)  # a retry, not due yet
    assert claimed(engine, 0) == ["answer", "erase-new"]
    assert claimed(engine, 0) == []  # leased now


def test_deletions_wait_until_the_oldest_has_lingered_then_go_together(engine: sa.Engine) -> None:
    add_job(engine, "erase-b", "erasing", 1)
    add_job(engine, "verify", "verifying", 0)
    add_job(engine, "correct", "erasing", 0, operation="correct")  # corrections are not batched: never held
    assert claimed(engine, 10) == ["verify", "correct"]

    add_job(engine, "erase-a", "erasing", 11)  # arrived first: it has lingered, so every deletion due joins it
    add_job(engine, "erase-c", "erasing", 0)
    assert claimed(engine, 10) == ["erase-a", "erase-b", "erase-c"]


def test_a_leased_deletion_does_not_release_the_others(engine: sa.Engine) -> None:
    """The oldest is being erased by another replica; the ones left wait for their own linger."""
    add_job(engine, "erase-old", "erasing", 30, leased=True)
    add_job(engine, "erase-new", "erasing", 2)
    assert claimed(engine, 10) == []
    with engine.begin() as conn:
        conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == "erase-new")
                     .values(next_attempt_at=utcnow() - timedelta(seconds=11)))  # fmt: skip
    assert claimed(engine, 10) == ["erase-new"]
