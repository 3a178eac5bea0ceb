"""What the run sees from the outside: how many requests are answered over time (audit's evidence), each
request's timeline (audit's API) and the instructions the demo providers received (their own databases)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from chaos.timelines import ANSWERS
from chaos.workload import Planned
from devtools.demo.provider_instructions import received_instructions, request_log
from services.audit import orm as audit_orm
from services.deletion.providers.model import Kind, instruction_id_for


@dataclass
class AnswerWatch:
    """Samples, every half second, how many requests have an answer on their timeline (as audit serves them)."""

    audit_db_url: str
    samples: list[tuple[float, int]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        engine = sa.create_engine(self.audit_db_url, pool_pre_ping=True)
        timeline = audit_orm.timeline
        query = sa.select(sa.func.count(sa.distinct(timeline.c.request_id))).where(timeline.c.event_type.in_(ANSWERS))
        try:
            while not self.stopping.wait(0.5):
                try:
                    with engine.connect() as conn:
                        self.samples.append((time.time(), int(conn.execute(query).scalar_one())))
                except sa.exc.SQLAlchemyError:
                    continue  # audit's tables not created yet
        finally:
            engine.dispose()

    @property
    def answered(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def first_answer_after(self, instant: float) -> float | None:
        """When the answered count first grew after `instant`."""
        before = max((count for at, count in self.samples if at <= instant), default=0)
        return next((at for at, count in self.samples if at > instant and count > before), None)

    def all_answered_at(self, total: int) -> float | None:
        return next((at for at, count in self.samples if count >= total), None)


def fetch_timelines(audit_url: str, auth: dict[str, str], request_ids: Sequence[str]) -> dict[str, list[Any]]:
    """Each request's timeline entries from audit's API (an empty list when it has none yet)."""

    def fetch(client: httpx.Client, request_id: str) -> list[Any]:
        for _ in range(3):
            try:
                response = client.get(f"/v1/requests/{request_id}/timeline", headers=auth)
            except httpx.TransportError:
                time.sleep(1)
                continue
            if response.status_code == 200:
                entries: list[Any] = response.json()["entries"]
                return entries
            if response.status_code == 404:
                return []
            time.sleep(1)
        return []

    with httpx.Client(base_url=audit_url, timeout=30) as client, ThreadPoolExecutor(4) as pool:
        return dict(zip(request_ids, pool.map(lambda request_id: fetch(client, request_id), request_ids),
                        strict=True))  # fmt: skip


@dataclass(frozen=True)
class ProviderCounts:
    applied: int  # instructions the providers carried out
    double_effects: int  # applied instructions that no request of the run accounts for, or applied twice
    retries_absorbed: int  # instruction POSTs refused as already received (the retry of a lost answer)


def provider_counts(provider_dbs: dict[str, str], requests: Sequence[Planned]) -> ProviderCounts:
    """Every instruction a provider applied must be the one instruction of one request of the run for it."""
    kinds: dict[str, Kind] = {"delete": "delete", "correct": "correct"}
    applied = doubles = retries = 0
    for name, url in provider_dbs.items():
        expected = {instruction_id_for(r.request_id, kinds[r.body["type"]], name)
                    for r in requests if r.request_id and r.body["type"] in kinds}  # fmt: skip
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            ids = [row[0] for row in conn.execute(sa.select(received_instructions.c.instruction_id))]
            posts = conn.execute(sa.select(sa.func.count()).select_from(request_log)).scalar_one()
        engine.dispose()
        applied += len(ids)
        doubles += sum(1 for instruction_id in ids if instruction_id not in expected) + len(ids) - len(set(ids))
        retries += int(posts) - len(ids)
    return ProviderCounts(applied, doubles, max(0, retries))


def poll_until(condition: Callable[[], bool], timeout: float, stopping: threading.Event, interval: float = 1.0
               ) -> bool:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or stopping.wait(interval):
            return False
    return True
