"""How the deletion worker claims jobs, on both of the services' databases: answers and verifications first, and
with a linger, deletions due for erasure only together, once the oldest of them has waited (one batch, one pass
over the logs), decided in the claiming statement itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common.events import utcnow
from services.common.leases import Leases
from services.deletion import orm
from services.deletion.jobs import claim_jobs

pytestmark = pytest.mark.integration


def add_job(deletion_db: sa.Engine, request_id: str, stage: str, seconds_ago: float, operation: str = "delete",
            leased: bool = False) -> None:  # fmt: skip
    now = utcnow()
    with deletion_db.begin() as conn:
        conn.execute(sa.insert(orm.jobs).values(
            request_id=request_id, subject_key="sk", operation=operation, received_at=now, stage=stage, attempts=0,
            verifications=0, next_attempt_at=now - timedelta(seconds=seconds_ago),
            lease_until=now + timedelta(seconds=60) if leased else None,
        ))  # fmt: skip


def claimed(deletion_db: sa.Engine, linger: float) -> list[str]:
    leases = Leases(deletion_db, orm.jobs, "request_id", seconds=60)
    return [row.request_id for row in claim_jobs(leases, limit=64, linger_seconds=linger)]


def test_without_a_linger_every_due_job_is_claimed_at_once(deletion_db: sa.Engine) -> None:
    add_job(deletion_db, "erase-new", "erasing", 0)
    add_job(deletion_db, "answer", "answering", 0)
    add_job(deletion_db, "later", "erasing", -30)  # a retry, not due yet
    assert claimed(deletion_db, 0) == ["answer", "erase-new"]
    assert claimed(deletion_db, 0) == []  # leased now


def test_deletions_wait_until_the_oldest_has_lingered_then_go_together(deletion_db: sa.Engine) -> None:
    add_job(deletion_db, "erase-b", "erasing", 1)
    add_job(deletion_db, "verify", "verifying", 0)
    add_job(deletion_db, "correct", "erasing", 0, operation="correct")  # corrections are not batched: never held
    assert claimed(deletion_db, 10) == ["verify", "correct"]

    add_job(deletion_db, "erase-a", "erasing", 11)  # arrived first: it has lingered, so every deletion due joins it
    add_job(deletion_db, "erase-c", "erasing", 0)
    assert claimed(deletion_db, 10) == ["erase-a", "erase-b", "erase-c"]


def test_a_leased_deletion_does_not_release_the_others(deletion_db: sa.Engine) -> None:
    """The oldest is being erased by another replica; the ones left wait for their own linger."""
    add_job(deletion_db, "erase-old", "erasing", 30, leased=True)
    add_job(deletion_db, "erase-new", "erasing", 2)
    assert claimed(deletion_db, 10) == []
    with deletion_db.begin() as conn:
        conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == "erase-new")
                     .values(next_attempt_at=utcnow() - timedelta(seconds=11)))  # fmt: skip
    assert claimed(deletion_db, 10) == ["erase-new"]
