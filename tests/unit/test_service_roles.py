"""Service roles: how a process is told its role (flag over CCPA_SERVICE_ROLE over all), the refusal of a bad one
(naming the allowed roles, no traceback), which loops each role starts, and the worker replica's ops-only port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Credentials
from services.common.http import ops_app
from services.common.roles import ROLE_VARIABLE, Role, RoleRefused, parse_role, resolve_role
from services.common.runtime import ServiceRuntime


def test_each_role_is_read_in_any_case() -> None:
    assert [parse_role(text) for text in ("all", "Worker", " HTTP ")] == [Role.ALL, Role.WORKER, Role.HTTP]


def test_a_bad_role_names_the_allowed_ones_and_where_it_came_from() -> None:
    with pytest.raises(RoleRefused, match=r"--role 'workers' is not a role; expected one of all, worker, http"):
        parse_role("workers")
    with pytest.raises(RoleRefused, match=f"{ROLE_VARIABLE} 'api' is not a role"):
        resolve_role(None, {ROLE_VARIABLE: "api"})


def test_the_flag_wins_over_the_environment_which_wins_over_all() -> None:
    assert resolve_role("http", {ROLE_VARIABLE: "worker"}) is Role.HTTP
    assert resolve_role(None, {ROLE_VARIABLE: "worker"}) is Role.WORKER
    assert resolve_role(None, {ROLE_VARIABLE: " "}) is resolve_role(None, {}) is Role.ALL


def test_a_worker_runs_the_worker_loops_an_http_replica_only_the_apis_own_flush() -> None:
    runs = {role: [side for side in (Role.WORKER, Role.HTTP) if role.runs(side)] for role in Role}
    assert runs == {Role.ALL: [Role.WORKER, Role.HTTP], Role.WORKER: [Role.WORKER], Role.HTTP: [Role.HTTP]}
    assert [role.serves_api for role in Role] == [True, False, True]


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        (["-m", "services.cli", "serve", "audit", "--role", "workers"], {}, "--role 'workers'"),
        (["-m", "services.audit"], {ROLE_VARIABLE: "api"}, f"{ROLE_VARIABLE} 'api'"),
    ],
    ids=["flag", "environment"],
)
def test_a_service_started_in_a_bad_role_refuses_it_in_one_line(command: list[str], env: dict[str, str],
                                                                  named: str) -> None:  # fmt: skip
    done = subprocess.run([sys.executable, *command], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert f"{named} is not a role; expected one of all, worker, http" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def start_in(role: Role, side: Role) -> dict[str, bool]:
    """Which loops a runtime in `role` lists after start_worker of one loop of `side` (its pure part, no broker)."""
    runtime = ServiceRuntime.__new__(ServiceRuntime)
    runtime.role, runtime.workers, runtime.stop_event = role, [], threading.Event()
    runtime.start_worker("loop", lambda stop: stop.wait(), lambda: datetime.now(UTC), side=side)
    try:
        return runtime.liveness()
    finally:
        runtime.stop_event.set()


def test_an_http_replica_starts_and_lists_no_worker_loop_so_healthz_never_reports_one_dead() -> None:
    assert start_in(Role.HTTP, Role.WORKER) == {}
    assert start_in(Role.HTTP, Role.HTTP) == {"loop": True}
    assert start_in(Role.WORKER, Role.WORKER) == start_in(Role.ALL, Role.WORKER) == {"loop": True}
    assert start_in(Role.WORKER, Role.HTTP) == {}


class StubService:
    """Only what the ops routes read: liveness, readiness, the role; start and stop are counted."""

    def __init__(self) -> None:
        self.runtime = SimpleNamespace(service="discovery", role=Role.WORKER, liveness=lambda: {"consumer": True},
                                       readiness=lambda: {"database": True, "kafka": True})  # fmt: skip
        self.started = self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1


def test_a_worker_replicas_port_serves_the_ops_routes_and_nothing_of_the_api() -> None:
    service = StubService()
    app = ops_app(service, Credentials.parse({}), "CCPA discovery")  # type: ignore[arg-type]
    with TestClient(app) as client:
        assert service.started == 1
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"service": "discovery", "role": "worker", "workers": {"consumer": True}}
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 401  # still behind its token
        assert client.get("/internal/v1/reports/x/json").status_code == 404
        assert client.get("/openapi.json").status_code == 404
    assert service.stopped == 1
