"""Across processes: a deletion worker process that claimed jobs and is slow keeps them (its heartbeat renews the
leases), and once it is killed with SIGKILL another process takes them over within seconds, not after 300 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.common.leases import Leases
from services.deletion import orm
from services.deletion.jobs import claim_jobs
from tests.integration.test_leases import add_jobs
from tests.support import wait_for

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3.0
JOBS = [f"burst-{index}" for index in range(12)]

# The holder: claims with the deletion worker's own claim, then runs a step that never ends (its heartbeat on).
HOLDER = """
import sys, threading
from services.common.db import make_engine
from services.common.leases import Leases
from services.deletion import orm
from services.deletion.jobs import claim_jobs
leases = Leases(make_engine(sys.argv[1]), orm.jobs, "request_id", float(sys.argv[2]))
with leases.heartbeat():
    print(len(claim_jobs(leases, limit=64)), flush=True)
    threading.Event().wait()
"""


@pytest.fixture
def holder(deletion_db: sa.Engine) -> Iterator[subprocess.Popen[str]]:
    add_jobs(deletion_db, *JOBS)
    url = deletion_db.url.render_as_string(hide_password=False)
    process = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(LEASE_SECONDS)], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == str(len(JOBS)), "the holder claimed the burst"
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_a_killed_workers_jobs_are_taken_over_within_seconds(deletion_db: sa.Engine,
                                                             holder: subprocess.Popen[str]) -> None:  # fmt: skip
    other = Leases(deletion_db, orm.jobs, "request_id", LEASE_SECONDS)
    slow_until = time.monotonic() + 3 * LEASE_SECONDS  # the holder's step lasts three leases and more
    while time.monotonic() < slow_until:
        assert claim_jobs(other, limit=64) == [], "a job still being worked on was taken over"
        time.sleep(0.2)

    os.killpg(holder.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    taken: list[str] = []

    def all_taken() -> bool:
        taken.extend(row.request_id for row in claim_jobs(other, limit=64))
        return len(taken) == len(JOBS)

    wait_for(all_taken, timeout=4 * LEASE_SECONDS, what="the killed worker's jobs taken over")
    assert sorted(taken) == sorted(JOBS)
    assert time.monotonic() - killed_at <= LEASE_SECONDS + 2
