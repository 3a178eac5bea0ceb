"""Latency through the pipeline: POST a request, then poll audit until its timeline shows RequestSubmitted.

Also how long audit needs to catch up with a backlog (the load test's last 202 -> its last timeline entry).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from bench.infra import submitted_count
from services.common.event_types import EventType

POLL_INTERVAL_S = 0.002
SAMPLE_TIMEOUT_S = 15.0


@dataclass
class EndToEnd:
    """Per-sample latencies (s): the 202 alone, and submit -> RequestSubmitted visible in the timeline."""

    submit: list[float] = field(default_factory=list)
    timeline: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    timeouts: int = 0


def has_submitted_entry(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    return any(entry["event_type"] == EventType.REQUEST_SUBMITTED for entry in response.json().get("entries", []))


def one_sample(intake: httpx.Client, audit: httpx.Client, body: dict[str, Any], result: EndToEnd) -> None:
    """One request through the pipeline; polls every POLL_INTERVAL_S for at most SAMPLE_TIMEOUT_S."""
    started = time.perf_counter()
    response = intake.post("/v1/requests", json=body)
    result.submit.append(time.perf_counter() - started)
    response.raise_for_status()
    path = f"/v1/requests/{response.json()['request_id']}/timeline"
    deadline = started + SAMPLE_TIMEOUT_S
    polls = 0
    while time.perf_counter() < deadline:
        polls += 1
        if has_submitted_entry(audit.get(path)):
            result.timeline.append(time.perf_counter() - started)
            result.polls.append(polls)
            return
        time.sleep(POLL_INTERVAL_S)
    result.timeouts += 1


def submit_to_timeline(
    intake_url: str,
    audit_url: str,
    auth: dict[str, str],
    bodies: list[dict[str, Any]],
    budget_s: float = 180.0,
) -> EndToEnd:
    """One request at a time (no queueing), for every body or until `budget_s` is spent."""
    result = EndToEnd()
    stop_at = time.perf_counter() + budget_s
    with (
        httpx.Client(base_url=intake_url, timeout=10) as intake,
        httpx.Client(base_url=audit_url, headers=auth, timeout=10) as audit,
    ):
        for body in bodies:
            if time.perf_counter() > stop_at:
                break
            one_sample(intake, audit, body, result)
    return result


def wait_drained(audit_db_url: str, expected: int, timeout_s: float = 120.0, interval_s: float = 0.005) -> float | None:
    """time.monotonic() at which audit had materialised `expected` submitted requests; None on timeout."""
    engine = sa.create_engine(audit_db_url, pool_size=1)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout_s:
            if submitted_count(engine) >= expected:
                return time.monotonic()
            time.sleep(interval_s)
        return None
    finally:
        engine.dispose()
