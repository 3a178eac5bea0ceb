"""Intake under load: C concurrent keep-alive clients POST a mix of verified deletes and opt-outs.

Each 202 means the request is durable (committed with its outbox row); throughput and latency are measured at
the client, a compiled generator (vegeta, devtools.loadgen) that still shares the machine's cores with the services.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from devtools import loadgen
from devtools.demo.company import Customer
from devtools.loadgen import Outcome, Target

REQUEST_TIMEOUT_S = 30.0
JSON_HEADERS = (("Content-Type", "application/json"),)


def verified_delete(customer: Customer) -> dict[str, Any]:
    """A delete the identity source verifies (email identifier plus name and postal code)."""
    return {
        "type": "delete",
        "channel": "api",
        "identifiers": {"email": customer.email},
        "verification": {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code}},
    }


def opt_out() -> dict[str, Any]:
    """An opt-out of sale/sharing for a fresh device: no verification (§7060(b))."""
    return {"type": "opt_out", "channel": "api", "identifiers": {"device_id": f"bench-{uuid.uuid4().hex}"}}


class BodySource:
    """Request bodies, alternating delete and opt-out, each delete for a customer not used before."""

    def __init__(self, customers: list[Customer]) -> None:
        self._customers: Iterator[Customer] = iter(customers)
        self._count = 0

    def take(self, count: int) -> list[dict[str, Any]]:
        return [self.next() for _ in range(count)]

    def next(self) -> dict[str, Any]:
        self._count += 1
        if self._count % 2:
            customer = next(self._customers, None)
            if customer is not None:
                return verified_delete(customer)
        return opt_out()


@dataclass
class LoadResult:
    """What the clients saw: per-request latencies (s), wall time, status counts and accepted request ids."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    accepted: list[str] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    last_accepted_at: float = 0.0  # time.monotonic() of the last 202

    @property
    def throughput(self) -> float:
        return len(self.accepted) / self.elapsed if self.elapsed else 0.0


def summarise_outcomes(outcomes: list[Outcome]) -> LoadResult:
    """Latencies, status counts and accepted ids from the generator's results; wall time from the first request's
    start to the last answer (the generator's own start-up is not counted)."""
    result = LoadResult()
    if not outcomes:
        return result
    first = min(o.started for o in outcomes)
    last_end = max(o.started + o.latency for o in outcomes)
    result.elapsed = last_end - first
    accepted_ends = []
    for outcome in outcomes:
        if outcome.status == 0:
            _count(result, "transport error")
            continue
        result.latencies.append(outcome.latency)
        if outcome.status in (200, 202):
            result.accepted.append(_request_id(outcome.body))
            accepted_ends.append(outcome.started + outcome.latency)
        else:
            _count(result, f"HTTP {outcome.status}")
    if accepted_ends:
        # The generator stamps wall-clock times; the drain is measured on time.monotonic().
        result.last_accepted_at = time.monotonic() - (time.time() - max(accepted_ends))
    return result


def _count(result: LoadResult, key: str) -> None:
    result.failures[key] = result.failures.get(key, 0) + 1


def _request_id(body: bytes) -> str:
    try:
        return str(json.loads(body)["request_id"])
    except (ValueError, KeyError, TypeError):
        return "ok"


def post_all(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> LoadResult:
    """POST every body once with `concurrency` keep-alive workers (vegeta), each body a distinct request."""
    url = f"{base_url}/v1/requests"
    targets = [Target("POST", url, json.dumps(body).encode(), JSON_HEADERS) for body in bodies]
    return summarise_outcomes(loadgen.attack(targets, concurrency, REQUEST_TIMEOUT_S))


def get_all(url: str, count: int, concurrency: int) -> LoadResult:
    """GET `url` `count` times with the same generator and workers: the HTTP stack's own ceiling."""
    return summarise_outcomes(loadgen.attack([Target("GET", url)] * count, concurrency, REQUEST_TIMEOUT_S))
