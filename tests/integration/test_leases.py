"""Claim leases on both of the services' databases: short, owned, renewed only by their owner, and a step whose
lease another process took over cannot commit; an existing database gains the owner column on start-up."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa

from services.common.db import create_tables
from services.common.events import utcnow
from services.common.leases import LeaseLost, Leases
from services.common.topics import TopicNames
from services.deletion import orm
from services.deletion.jobs import JobStore, claim_jobs
from services.deletion.settings import DeletionSettings
from services.discovery import orm as discovery_orm
from services.discovery.settings import DiscoverySettings
from services.discovery.worker import DiscoveryWorker

pytestmark = pytest.mark.integration


def add_jobs(engine: sa.Engine, *request_ids: str) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sa.insert(orm.jobs), [{
            "request_id": request_id, "subject_key": "sk", "operation": "delete", "received_at": now,
            "stage": "erasing", "attempts": 0, "verifications": 0, "next_attempt_at": now - timedelta(seconds=1),
        } for request_id in request_ids])  # fmt: skip


def job(engine: sa.Engine, request_id: str) -> sa.Row[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(orm.jobs).where(orm.jobs.c.request_id == request_id)).one()


def lapse(engine: sa.Engine, request_id: str) -> None:
    """As if the holder stopped renewing (it died) a lease ago."""
    with engine.begin() as conn:
        conn.execute(sa.update(orm.jobs).where(orm.jobs.c.request_id == request_id)
                     .values(lease_until=utcnow() - timedelta(seconds=1)))  # fmt: skip


def claimed(leases: Leases) -> list[str]:
    return [row.request_id for row in claim_jobs(leases, limit=64)]


def replica(engine: sa.Engine, seconds: float = 15.0) -> Leases:
    return Leases(engine, orm.jobs, "request_id", seconds)


def test_a_claim_is_short_and_names_its_owner(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "r-1")
    first, second = replica(deletion_db), replica(deletion_db)
    assert first.owner != second.owner
    before = utcnow()
    assert claimed(first) == ["r-1"]
    row = job(deletion_db, "r-1")
    assert row.lease_owner == first.owner
    assert before + timedelta(seconds=14) <= row.lease_until <= utcnow() + timedelta(seconds=15)
    assert first.held() == {"r-1"}
    assert claimed(second) == []  # held

    lapse(deletion_db, "r-1")
    assert claimed(second) == ["r-1"]
    assert job(deletion_db, "r-1").lease_owner == second.owner


def test_renewal_extends_only_the_leases_this_process_still_owns(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "mine", "taken-over")
    first, second = replica(deletion_db), replica(deletion_db)
    assert claimed(first) == ["mine", "taken-over"]
    lapse(deletion_db, "taken-over")
    assert claimed(second) == ["taken-over"]
    second_lease = job(deletion_db, "taken-over").lease_until
    lapse(deletion_db, "mine")  # lapsed, but nobody took it: still the first's to renew

    assert first.renew() == 1
    assert job(deletion_db, "mine").lease_until > utcnow() + timedelta(seconds=14)
    taken = job(deletion_db, "taken-over")
    assert (taken.lease_owner, taken.lease_until) == (second.owner, second_lease)


def test_a_released_job_is_no_longer_renewed(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "r-1", "r-2")
    leases = replica(deletion_db)
    assert claimed(leases) == ["r-1", "r-2"]
    leases.release("r-1")
    lapse(deletion_db, "r-1")
    assert leases.renew() == 1
    assert job(deletion_db, "r-1").lease_until < utcnow()


def test_the_heartbeat_keeps_a_slow_step_from_other_claimers(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "slow")
    holder, other = replica(deletion_db, seconds=1.0), replica(deletion_db, seconds=1.0)
    with holder.heartbeat():
        assert claimed(holder) == ["slow"]
        beats = holder.seconds * 3  # a step three leases long
        started = utcnow()
        while utcnow() - started < timedelta(seconds=beats):
            assert claimed(other) == [], "the lease of a job still being worked on lapsed"
            threading.Event().wait(0.1)
        holder.release("slow")
    lapse(deletion_db, "slow")
    assert claimed(other) == ["slow"]


def test_replicas_claiming_at_once_take_different_rows(deletion_db: sa.Engine) -> None:
    """A row another replica is claiming (locked by its claim) is skipped, not waited for: FOR UPDATE SKIP LOCKED."""
    if deletion_db.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: no row is locked while another claims")
    add_jobs(deletion_db, "being-claimed", "free")
    taken: list[str] = []
    with deletion_db.connect() as other_replica, other_replica.begin():
        other_replica.execute(sa.select(orm.jobs).where(orm.jobs.c.request_id == "being-claimed").with_for_update())
        claimer = threading.Thread(target=lambda: taken.extend(claimed(replica(deletion_db))), daemon=True)
        claimer.start()
        claimer.join(timeout=10)
        assert not claimer.is_alive(), "the claim queued behind the other replica's locked row"
    assert taken == ["free"]


def job_store(engine: sa.Engine) -> JobStore:
    return JobStore(engine, DeletionSettings.model_construct())


def test_a_deletion_step_whose_lease_was_taken_over_does_not_commit(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "r-1")
    store, other = job_store(deletion_db), replica(deletion_db)
    [mine] = store.claim(limit=8)
    lapse(deletion_db, "r-1")
    assert claimed(other) == ["r-1"]
    with pytest.raises(LeaseLost):
        store.move(mine, "verifying", erased=True)
    row = job(deletion_db, "r-1")
    assert (row.stage, row.erased_at, row.lease_owner) == ("erasing", None, other.owner)

    store.fail(mine, RuntimeError("the store went away"))  # neither raises nor reschedules another's job
    assert job(deletion_db, "r-1").attempts == 0


def test_a_deletion_step_that_kept_its_lease_commits_and_releases_it(deletion_db: sa.Engine) -> None:
    add_jobs(deletion_db, "r-1")
    store = job_store(deletion_db)
    [mine] = store.claim(limit=8)
    store.move(mine, "verifying", erased=True)
    row = job(deletion_db, "r-1")
    assert (row.stage, row.lease_owner, row.lease_until) == ("verifying", None, None)


def test_a_walk_whose_lease_was_taken_over_does_not_complete_the_run(deletion_db: sa.Engine) -> None:
    discovery_orm.metadata.create_all(deletion_db)
    now, runs = utcnow(), discovery_orm.runs
    with deletion_db.begin() as conn:
        conn.execute(sa.insert(runs).values(
            request_id="r-1", subject_key="sk", request_type="know_categories", identifiers_sealed={},
            received_at=now, status="pending", attempts=0, next_attempt_at=now, started_at=now,
        ))  # fmt: skip
    nothing = cast(Any, None)
    worker = DiscoveryWorker(deletion_db, nothing, TopicNames(""), nothing, nothing, {}, nothing,
                             DiscoverySettings.model_construct())  # fmt: skip
    [mine] = worker.runs.claim(4)
    other = Leases(deletion_db, runs, "request_id", 15.0)
    with deletion_db.begin() as conn:
        conn.execute(sa.update(runs).values(lease_until=utcnow() - timedelta(seconds=1)))
    due = sa.and_(runs.c.status == "pending", other.free(utcnow()))
    assert len(other.claim(sa.select(runs).where(due), due, utcnow())) == 1
    with pytest.raises(LeaseLost), deletion_db.begin() as conn:
        worker.runs.mark(conn, mine, 1, status="complete")
    with deletion_db.connect() as conn:
        row = conn.execute(sa.select(runs)).one()
    assert (row.status, row.lease_owner) == ("pending", other.owner)


def test_an_existing_database_gains_the_lease_owner_column(deletion_db: sa.Engine) -> None:
    """A database the service created before the owner column existed: start-up adds it, rows kept."""
    with deletion_db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE deletion_jobs DROP COLUMN lease_owner"))
    add_jobs(deletion_db, "old")
    assert "lease_owner" not in {c["name"] for c in sa.inspect(deletion_db).get_columns("deletion_jobs")}

    create_tables(orm.metadata, deletion_db)
    create_tables(orm.metadata, deletion_db)  # a second start, or a second replica, changes nothing more
    assert claimed(replica(deletion_db)) == ["old"]
