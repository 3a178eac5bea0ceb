"""Two replicas of each consumer on the demo world: extra `worker` replicas beside the pipeline's own (`all`), an
`http` intake replica the tests submit through, and what the tests read back (group assignments, leases held by a
process, each request's timeline and the services' own tables)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from devtools.demo.company import Customer
from devtools.local.process import ServiceProcess
from devtools.localstack.ports import free_port
from services.deletion import orm as deletion_orm
from services.discovery import orm as discovery_orm
from services.optout import orm as optout_orm
from tests.e2e.demo_world import World
from tests.support import wait_for

SCALED = ("discovery", "deletion", "optout", "audit")
GROUPS = {service: f"ccpa-{service}" for service in SCALED}
LEASED = {"discovery": discovery_orm.runs, "deletion": deletion_orm.jobs}
ERASED_STORES = {"app-db", "marketing-db", "sessions", "web-logs"}
# What each request type puts on its timeline once done, each exactly once (per store where a store is named).
EXPECTED = {
    "know_specific": {"RequestSubmitted", "DiscoveryCompleted", "ReportReady", "RequestCompleted"},
    "delete": {"RequestSubmitted", "DiscoveryCompleted", "StoreErased", "DeletionVerified", "DeletionCompleted"}
    | {"RequestCompleted"},
    "opt_out": {"RequestSubmitted", "OptOutApplied", "OptOutState", "RequestCompleted"},
    "opt_in": {"RequestSubmitted", "OptOutApplied", "OptOutState", "RequestCompleted"},
}

# What makes two events of one type from one producer distinct: the store, recipient or flow each is about.
ABOUT = ("store", "recipient", "flow")
# The reference downstream is one process outside the pipeline: after each opt-out it acknowledges it probes its gated
# flows, whose gates file FlowBlocked under the request of the state *their* cache holds by then, so an opt-out,
# opt-in, opt-out in quick succession puts two probes on the last request. Only the pipeline's services are checked.
OUTSIDE = "downstream:"


@dataclass
class Replicas:
    """The demo world with a second replica of each scaled service on demand and an http-only intake."""

    world: World
    http: ServiceProcess
    extra: dict[str, ServiceProcess] = field(default_factory=dict)

    @classmethod
    def around(cls, world: World) -> Replicas:
        intake = world.pipeline.intake
        http = ServiceProcess("intake", intake.env, free_port(), world.pipeline.config.log_dir, role="http",
                              replica="intake-http")  # fmt: skip
        return cls(world, http.start())

    def base(self, service: str) -> ServiceProcess:
        process = getattr(self.world.pipeline, service)
        assert isinstance(process, ServiceProcess), f"the world has no {service}"
        return process

    def start_workers(self, services: Iterable[str] = SCALED, wait: bool = True) -> list[ServiceProcess]:
        """A `worker` replica of each service, in the same group and on the same database as the pipeline's."""
        started = []
        for service in services:
            base = self.base(service)
            replica = ServiceProcess(service, base.env, free_port(), base.log_file.parent, role="worker",
                                     replica=f"{service}-worker-{uuid.uuid4().hex[:6]}")  # fmt: skip
            self.extra[service] = replica.start(wait=False)
            started.append(replica)
        if wait:
            for replica in started:
                replica.wait_ready(90)
        return started

    def stop_workers(self) -> None:
        for replica in self.extra.values():
            replica.stop()
        self.extra.clear()

    def submit(self, request_type: str, customer: Customer) -> str:
        """A request through the http replica: intake's API with no relay of its own (a worker relays its outbox)."""
        body: dict[str, Any] = {"type": request_type, "channel": "web_form", "identifiers": {"email": customer.email}}
        if request_type in ("know_specific", "delete"):
            body["verification"] = {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code,
                                                    "date_of_birth": customer.date_of_birth},
                                    "signed_declaration": True}  # fmt: skip
        response = httpx.post(f"{self.http.url}/v1/requests", json=body, timeout=30)
        assert response.status_code == 202, response.text
        request_id: str = response.json()["request_id"]
        return request_id

    def topics(self) -> str:
        return self.world.pipeline.config.topic_namespace

    def assignment(self, service: str) -> list[int]:
        """How many partitions of this world's topics each member of the service's group holds, once the group is
        stable (empty while it rebalances); members of other worlds' groups of the same name count 0."""
        admin = AdminClient({"bootstrap.servers": self.world.pipeline.config.bootstrap_servers})
        group = GROUPS[service]
        description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        if description.state != ConsumerGroupState.STABLE:
            return []
        held = []
        for member in description.members:
            partitions = member.assignment.topic_partitions if member.assignment else []
            held.append(sum(1 for tp in partitions if tp.topic.startswith(self.topics())))
        return [count for count in held if count > 0]

    def members_holding(self, service: str) -> int:
        return len(self.assignment(service))


def leases_of(url: str, table: sa.Table, pid: int) -> list[str]:
    """The rows of `table` whose lease the process `pid` holds (its owner id is host:pid:random)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(table.c.request_id).where(table.c.lease_owner.like(f"%:{pid}:%"))
            return [str(row) for row in conn.execute(query).scalars()]
    finally:
        engine.dispose()


def entries(world: World, request_id: str) -> list[dict[str, Any]]:
    return world.timeline(request_id)


def done(world: World, request_id: str, request_type: str) -> list[dict[str, Any]] | None:
    """The request's timeline once it holds every event its type expects (all four stores erased for a delete)."""
    found = entries(world, request_id)
    types = {entry["event_type"] for entry in found}
    if not EXPECTED[request_type] <= types:
        return None
    if request_type == "delete" and stores(found, "StoreErased") != sorted(ERASED_STORES):
        return None
    return found


def wait_done(world: World, requests: dict[str, str], timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Every request's finished timeline, waited for together against one deadline."""
    deadline = time.monotonic() + timeout
    timelines = {}
    for request_id, request_type in requests.items():
        left = max(1.0, deadline - time.monotonic())
        timelines[request_id] = wait_for(lambda r=request_id, t=request_type: done(world, r, t), timeout=left,
                                         interval=0.5, what=f"{request_type} {request_id} done")  # fmt: skip
    return timelines


def stores(found: list[dict[str, Any]], event_type: str) -> list[str]:
    return sorted(str(e["details"].get("store")) for e in found if e["event_type"] == event_type)


def repeated(found: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Timeline entries that say the same thing twice: the same event id, or the same event type from the same
    producer of the pipeline about the same store, recipient or flow (a step applied twice makes a second event with
    a new id)."""
    ids = Counter(entry["event_id"] for entry in found)
    ours = [entry for entry in found if not entry["producer"].startswith(OUTSIDE)]
    said = Counter((entry["event_type"], entry["producer"], *(str(entry["details"].get(about)) for about in ABOUT))
                   for entry in ours)  # fmt: skip
    return [(event_id,) for event_id, n in ids.items() if n > 1] + [key for key, n in said.items() if n > 1]


def applied_once(world: World, requests: dict[str, str]) -> list[str]:
    """What the services' own tables show applied other than once: a store erased in a second round, a discovery
    run not complete, an opt-out change made twice; empty when each request's effects were applied once."""
    config = world.pipeline.config
    problems = []
    outcomes = deletion_orm.store_outcomes
    with _connect(config.deletion_db_url) as conn:
        erased = Counter(conn.execute(sa.select(outcomes.c.request_id, outcomes.c.store)).all())
    with _connect(config.discovery_db_url) as conn:
        runs = dict(conn.execute(sa.select(discovery_orm.runs.c.request_id, discovery_orm.runs.c.status)).all())
    with _connect(config.optout_db_url) as conn:
        changes = Counter(conn.execute(sa.select(optout_orm.consent_history.c.request_id)
                                       .where(optout_orm.consent_history.c.changed.is_(True))).scalars())  # fmt: skip
    for request_id, request_type in requests.items():
        rounds = {store: n for (request, store), n in erased.items() if request == request_id}
        if request_type == "delete" and (not rounds or max(rounds.values()) != 1):
            problems.append(f"{request_id}: erase rounds per store {rounds}")
        if request_type in ("know_specific", "delete") and runs.get(request_id) != "complete":
            problems.append(f"{request_id}: discovery run {runs.get(request_id)}")
        if request_type in ("opt_out", "opt_in") and changes[request_id] != 1:
            problems.append(f"{request_id}: {changes[request_id]} consent changes")
    return problems


class _connect:
    """A short-lived connection to one service's database."""

    def __init__(self, url: str | None) -> None:
        assert url, "the world has this service's database"
        self.engine = sa.create_engine(url)

    def __enter__(self) -> sa.Connection:
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()
        self.engine.dispose()
