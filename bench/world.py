"""The demo company behind a whole pipeline (every service, as separate processes or `ccpa serve all`), and what the
memory and scale benches do with it: mixed requests in realistic proportions, submitted as fast as intake accepts
them, then waited for on audit's timeline; memory of every process from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import infra
from devtools.demo.generator import DATAMAP_PATH, DemoCompany, DemoTarget, demo_env, generate_company
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.local.process import ProviderProcess
from devtools.localstack.ports import free_port
from devtools.localstack.redis import RedisServer
from services.audit import orm as audit_orm

DATA_DIR = infra.REPO_ROOT / ".local" / "bench"
MiB = 1024 * 1024
# Of every 100 requests: most are opt-outs (GPC and "Do not sell" links), then access and deletion.
MIX = (("opt_out", 40), ("know_specific", 12), ("know_categories", 8), ("delete", 20), ("limit", 8),
       ("correct", 5), ("opt_in", 7))  # fmt: skip
# A request is answered on audit's timeline once one of these is there for it.
ANSWERED = ("RequestCompleted", "RequestDenied", "RequestFailed")


@dataclasses.dataclass
class DemoWorld:
    pipeline: Pipeline
    target: DemoTarget
    company: DemoCompany
    providers: list[ProviderProcess]

    def processes(self) -> dict[str, int]:
        """Every pipeline process by name, with its PID (the all-in-one process as "all-in-one")."""
        pipeline = self.pipeline
        if pipeline.all_in_one is not None and pipeline.all_in_one.process is not None:
            return {"all-in-one": pipeline.all_in_one.pid}
        return {s.service: s.pid for s in pipeline.services if s.process is not None}


def demo_target(subjects: int, redis: RedisServer) -> DemoTarget:
    ports = {"mailer": free_port(), "shipper": free_port()}
    db_index = {100_000: 1, 1_000_000: 2}.get(subjects, 3)
    return dataclasses.replace(
        DemoTarget.in_directory(DATA_DIR / f"demo-{subjects}", redis_url=redis.url.rsplit("/", 1)[0] + f"/{db_index}"),
        mailer_url=f"http://127.0.0.1:{ports['mailer']}", shipper_url=f"http://127.0.0.1:{ports['shipper']}",
    )  # fmt: skip


@contextlib.contextmanager
def demo_world(stack: infra.Infra, redis: RedisServer, subjects: int, all_in_one: bool) -> Iterator[DemoWorld]:
    """The demo company at `subjects` (generated once, reused while unchanged), its two providers, and intake,
    audit, optout, discovery and deletion on fresh databases; all stopped however the block ends."""
    target = demo_target(subjects, redis)
    company = generate_company(target, subjects, progress=sys.stdout.isatty())
    env = {**os.environ, **demo_env(target)}
    work = stack.work_dir / f"world-{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as cleanup:
        providers: list[ProviderProcess] = []
        for name in ("mailer", "shipper"):
            port = int(getattr(target, f"{name}_url").rsplit(":", 1)[1])
            provider = ProviderProcess(name, env, port, target.provider_data(name), work / "logs")
            provider.start()
            cleanup.callback(provider.stop)
            providers.append(provider)
        pipeline = Pipeline(world_config(stack, target, work, all_in_one))
        cleanup.callback(pipeline.stop)
        pipeline.start()
        yield DemoWorld(pipeline, target, company, providers)


def world_config(stack: infra.Infra, target: DemoTarget, work: Path, all_in_one: bool) -> PipelineConfig:
    suffix = uuid.uuid4().hex[:10]
    roles = ("intake", "audit", "keys", "optout", "disc", "del")
    urls = [stack.postgres.create_database(f"bench_{role}_{suffix}") for role in roles]
    return PipelineConfig(
        bootstrap_servers=stack.bootstrap_servers, topic_namespace=f"bench-{suffix}.", intake_db_url=urls[0],
        audit_db_url=urls[1], keystore_url=urls[2], identity_source_url=target.app_db_url, log_dir=work / "logs",
        optout_db_url=urls[3], discovery_db_url=urls[4], deletion_db_url=urls[5], datamap_path=DATAMAP_PATH,
        all_in_one=all_in_one, extra_env={**demo_env(target), "CCPA_PROVIDER_GRACE_SECONDS": "0",
                                          "CCPA_APPLICANT_SOURCE_URL": target.app_db_url},
    )  # fmt: skip


def sample_people(app_db_url: str, subjects: int, count: int, seed: int = 31) -> list[dict[str, Any]]:
    """`count` distinct demo customers (at most every one), read in chunks the database's parameter limit allows."""
    picks = sorted(random.Random(seed).sample(range(subjects), min(count, subjects)))
    engine = sa.create_engine(app_db_url)
    customers = sa.Table("customers", sa.MetaData(), autoload_with=engine)
    people: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for first in range(0, len(picks), 5000):
            ids = [f"acct-{n:07d}" for n in picks[first : first + 5000]]
            people += [
                dict(r) for r in conn.execute(sa.select(customers).where(customers.c.account_id.in_(ids))).mappings()
            ]
    engine.dispose()
    return people


def request_body(kind: str, person: dict[str, Any]) -> dict[str, Any]:
    """What a consumer sends for `kind`, with the verification that kind asks for."""
    body: dict[str, Any] = {"type": kind, "channel": "api", "identifiers": {"email": person["email"]}}
    if kind in ("know_specific", "know_categories"):
        points = {"name": person["full_name"], "postal_code": person["postal_code"],
                  "date_of_birth": person["date_of_birth"]}  # fmt: skip
        body["verification"] = {"data_points": points, "signed_declaration": True}
    elif kind == "delete":
        body["verification"] = {"data_points": {"name": person["full_name"], "postal_code": person["postal_code"]}}
    elif kind == "correct":
        body["verification"] = {"data_points": {"name": person["full_name"], "date_of_birth": person["date_of_birth"]}}
        body["corrections"] = {"postal_code": f"9{random.Random(person['email']).randrange(10000):04d}"}
    return body


def mixed_requests(people: list[dict[str, Any]], count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` request bodies in MIX's proportions, shuffled; each person used once while people last."""
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    return [request_body(rng.choice(kinds), people[i % len(people)]) for i in range(count)]


async def _submit(url: str, bodies: list[dict[str, Any]], concurrency: int) -> tuple[list[str], int]:
    ids: list[str] = []
    refused = 0
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal refused
            while queue:
                body = queue.pop()
                once = {"Idempotency-Key": str(uuid.uuid4())}  # a resent request is accepted once
                for attempt in range(20):
                    try:
                        response = await client.post(f"{url}/v1/requests", json=body, headers=once)
                    except httpx.TransportError:  # a keep-alive connection the server closed: send it again
                        await asyncio.sleep(0.05 * (attempt + 1))
                        continue
                    if response.status_code == 202:
                        ids.append(response.json()["request_id"])
                        break
                    if response.status_code not in (429, 503):
                        refused += 1
                        break
                    await asyncio.sleep(0.05 * (attempt + 1))  # intake said "not now": as a client would

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids, refused


def submit_all(pipeline: Pipeline, bodies: list[dict[str, Any]], concurrency: int = 32) -> tuple[list[str], int]:
    """POST every body as fast as intake accepts them; the request ids of the 202s and the count refused."""
    return asyncio.run(_submit(pipeline.intake.url, bodies, concurrency))


def answered_count(audit_db_url: str) -> int:
    timeline = audit_orm.timeline
    query = sa.select(sa.func.count(sa.distinct(timeline.c.request_id))).where(timeline.c.event_type.in_(ANSWERED))
    engine = sa.create_engine(audit_db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def wait_answered(pipeline: Pipeline, expected: int, timeout: float, progress: Any = None) -> tuple[int, float]:
    """Poll audit's timeline until `expected` requests are answered (or the time is up): how many, and when."""
    started = time.monotonic()
    answered, last_said = 0, 0.0
    while time.monotonic() - started < timeout:
        answered = answered_count(pipeline.config.audit_db_url)
        if answered >= expected:
            break
        if progress is not None and time.monotonic() - last_said > 30:
            progress(f"answered {answered:,} of {expected:,} after {time.monotonic() - started:.0f} s")
            last_said = time.monotonic()
        time.sleep(1.0)
    return answered, time.monotonic() - started


def memory_of(pids: dict[str, int]) -> dict[str, dict[str, float | None]]:
    """VmRSS and VmHWM (MiB) of each process now."""

    def mib(value: int | None) -> float | None:
        return round(value / MiB, 1) if value is not None else None

    return {
        name: {"rss": mib(infra.rss_bytes(pid)), "hwm": mib(infra.peak_rss_bytes(pid))} for name, pid in pids.items()
    }


def total(memory: dict[str, dict[str, float | None]], field: str) -> float:
    return round(sum(figures[field] or 0.0 for figures in memory.values()), 1)
