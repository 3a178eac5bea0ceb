"""Intake with CCPA_HTTP_WORKERS=2: two processes on one port, both answering POST /v1/requests, one relay."""

from __future__ import annotations

import dataclasses
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.local.pipeline import Pipeline, PipelineConfig
from tests.support import wait_for, wait_for_entries

pytestmark = pytest.mark.integration


def opt_out() -> dict[str, object]:
    return {"type": "opt_out", "channel": "api", "identifiers": {"device_id": f"workers-{uuid.uuid4().hex}"}}


def children(pid: int) -> list[int]:
    """The worker processes (multiprocessing's spawn children), not its resource tracker."""
    found = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [child for child in found if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


@pytest.fixture
def two_workers(pipeline_config: PipelineConfig) -> Iterator[Pipeline]:
    config = dataclasses.replace(pipeline_config, extra_env={**pipeline_config.extra_env, "CCPA_HTTP_WORKERS": "2"})
    running = Pipeline(config).start()
    try:
        yield running
    finally:
        running.stop()


def submit_on_fresh_connections(pipeline: Pipeline, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = httpx.post(f"{pipeline.intake.url}/v1/requests", json=opt_out(), timeout=10)
        assert response.status_code == 202, response.text
        ids.append(response.json()["request_id"])
    return ids


def test_each_worker_serves_submissions_alone_and_only_the_first_relays(two_workers: Pipeline) -> None:
    first, second = wait_for(lambda: (found := children(two_workers.intake.pid)) and len(found) == 2 and found,
                             what="two intake workers")  # fmt: skip
    os.kill(first, signal.SIGSTOP)  # only the second (http role) can accept now
    try:
        served_by_second = submit_on_fresh_connections(two_workers, 5)
    finally:
        os.kill(first, signal.SIGCONT)
    os.kill(second, signal.SIGSTOP)
    try:
        served_by_first = submit_on_fresh_connections(two_workers, 5)
    finally:
        os.kill(second, signal.SIGCONT)
    with httpx.Client() as client:
        for request_id in served_by_second + served_by_first:
            wait_for_entries(client, two_workers.audit.url, request_id, two_workers.auth, ["RequestSubmitted"])
    skipped = [line for line in two_workers.intake.log_file.read_text().splitlines()
               if "not started in this role" in line and "outbox-relay" in line]  # fmt: skip
    assert len(skipped) == 1 and '"http"' in skipped[0], "the second worker leaves the relay to the first"
