"""Intake under load: C concurrent keep-alive clients POST a mix of verified deletes and opt-outs.

Each 202 means the request is durable (committed with its outbox row); throughput and latency are measured at
the client, which shares the machine's cores with the services.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.demo.company import Customer

REQUEST_TIMEOUT_S = 30.0


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


async def _worker(
    client: httpx.AsyncClient, url: str, queue: asyncio.Queue[dict[str, Any]], result: LoadResult
) -> None:
    while True:
        try:
            body = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        started = time.perf_counter()
        try:
            response = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            key = type(exc).__name__
            result.failures[key] = result.failures.get(key, 0) + 1
            continue
        result.latencies.append(time.perf_counter() - started)
        if response.status_code == 202:
            result.accepted.append(str(response.json()["request_id"]))
            result.last_accepted_at = time.monotonic()
        else:
            key = f"HTTP {response.status_code}"
            result.failures[key] = result.failures.get(key, 0) + 1


async def _post_all(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> LoadResult:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    result = LoadResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_worker(client, "/v1/requests", queue, result) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


def post_all(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> LoadResult:
    """POST every body with `concurrency` clients on keep-alive connections; bounded by the body count."""
    return asyncio.run(_post_all(base_url, bodies, concurrency))


async def _get_all(url: str, count: int, concurrency: int) -> LoadResult:
    result = LoadResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    remaining = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            started = time.perf_counter()
            response = await client.get(url)
            result.latencies.append(time.perf_counter() - started)
            if response.status_code == 200:
                result.accepted.append("ok")

    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


def get_all(url: str, count: int, concurrency: int) -> LoadResult:
    """GET `url` `count` times with `concurrency` keep-alive clients: the HTTP stack's own ceiling."""
    return asyncio.run(_get_all(url, count, concurrency))
