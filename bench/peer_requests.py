"""The peer bench's requests over HTTP: know_specific and delete of customer N, timed at the client and read back
from audit's timeline (server clocks)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from devtools.local.pipeline import Pipeline
from services.common.event_types import EventType

POLL_SECONDS = 0.002  # the brief: poll every 5 ms or less


def know_request(number: int) -> dict[str, Any]:
    points = {"name": f"Customer {number}", "account_id": str(number)}
    return {"type": "know_specific", "channel": "api", "identifiers": {"email": f"customer{number}@example.com"},
            "verification": {"data_points": points, "signed_declaration": True}}  # fmt: skip


def delete_request(number: int) -> dict[str, Any]:
    return {"type": "delete", "channel": "api", "identifiers": {"email": f"customer{number}@example.com"},
            "verification": {"data_points": {"name": f"Customer {number}"}}}  # fmt: skip


def know(http: httpx.Client, pipeline: Pipeline, number: int, timeout: float = 60.0) -> tuple[str, float, float]:
    """(request id, seconds from sending the POST until intake's status shows the report link, wall clock then)."""
    started = time.perf_counter()
    response = http.post(f"{pipeline.intake.url}/v1/requests", json=know_request(number))
    response.raise_for_status()
    request_id = str(response.json()["request_id"])
    status_url = f"{pipeline.intake.url}/v1/requests/{request_id}"
    while not http.get(status_url, headers=pipeline.auth).json().get("report"):
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"no report link for {request_id} in {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return request_id, time.perf_counter() - started, time.time()


def delete(http: httpx.Client, pipeline: Pipeline, number: int, timeout: float = 120.0) -> tuple[str, float]:
    """(request id, seconds from sending the POST until DeletionVerified is on the timeline)."""
    started = time.perf_counter()
    response = http.post(f"{pipeline.intake.url}/v1/requests", json=delete_request(number))
    response.raise_for_status()
    request_id = str(response.json()["request_id"])
    while EventType.DELETION_VERIFIED not in {e["event_type"] for e in timeline(http, pipeline, request_id)}:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"no DeletionVerified for {request_id} in {timeout:.0f} s")
        time.sleep(POLL_SECONDS * 2)
    return request_id, time.perf_counter() - started


def timeline(http: httpx.Client, pipeline: Pipeline, request_id: str) -> list[dict[str, Any]]:
    url = f"{pipeline.audit.url}/v1/requests/{request_id}/timeline"
    entries: list[dict[str, Any]] = http.get(url, headers=pipeline.auth).json().get("entries", [])
    return entries


def settled_timeline(http: httpx.Client, pipeline: Pipeline, request_id: str, until: EventType,
                     timeout: float = 30.0) -> list[dict[str, Any]]:  # fmt: skip
    """The timeline once `until` is on it (audit materialises a little after the client saw the outcome)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = timeline(http, pipeline, request_id)
        if until in {entry["event_type"] for entry in entries}:
            return entries
        time.sleep(0.02)
    raise RuntimeError(f"{until} of {request_id} never reached the timeline")


def server_latency(entries: list[dict[str, Any]], until: EventType) -> float:
    """intake's received_at (on RequestSubmitted) → the occurred_at of `until`, seconds."""
    times = {entry["event_type"]: entry for entry in entries}
    received = instant(times[EventType.REQUEST_SUBMITTED]["details"]["received_at"])
    return instant(times[until]["occurred_at"]) - received


def instant(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
