"""Start one service under uvicorn, with JSON logs, in a role: the API and its workers (all), the workers with only
the ops routes on the port (worker), or the API with no worker (http)."""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import uvicorn
from pydantic import ValidationError

from services.common.logs import configure_logging
from services.common.roles import ROLE_VARIABLE, Role, RoleRefused, resolve_role
from services.common.settings import refused_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

MAX_WORKERS = 64
WORKERS_VARIABLE = "CCPA_HTTP_WORKERS"

# service: (app module, settings module, settings class, title of its worker replicas' ops app)
SERVICES = {
    "intake": ("services.intake.app", "services.intake.settings", "IntakeSettings", "CCPA intake"),
    "audit": ("services.audit.app", "services.audit.settings", "AuditSettings", "CCPA audit"),
    "optout": ("services.optout.app", "services.optout.settings", "OptoutSettings", "CCPA opt-out"),
    "discovery": ("services.discovery.app", "services.discovery.settings", "DiscoverySettings", "CCPA discovery"),
    "deletion": ("services.deletion.app", "services.deletion.settings", "DeletionSettings", "CCPA deletion"),
    "console": ("services.console.app", "services.console.settings", "ConsoleSettings", "CCPA console"),
}


def load_settings(service: str) -> Any:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    _app_module, settings_module, settings_class, _title = SERVICES[service]
    settings = getattr(importlib.import_module(settings_module), settings_class)
    try:
        return settings()
    except ValidationError as exc:
        raise SystemExit(refused_settings(service, settings, exc)) from None


def role_of(flag: str | None) -> Role:
    """The process's role (the flag wins over CCPA_SERVICE_ROLE), or a refusal naming the allowed ones."""
    try:
        return resolve_role(flag)
    except RoleRefused as exc:
        raise SystemExit(str(exc)) from None


def build_app(service: str, settings: Any, role: Role) -> FastAPI:
    """The service's whole app, or for a worker replica its workers behind the ops routes alone."""
    from services.common.http import ops_app  # the web stack only once a service runs, not for every `ccpa` verb

    app_module, _settings_module, _class, title = SERVICES[service]
    if role.serves_api:
        app: FastAPI = importlib.import_module(app_module).create_app(settings)
        return app
    running = importlib.import_module(f"services.{service}.bootstrap").bootstrap(settings)
    return ops_app(running, settings.credentials(), title)


def serve(service: str, role: str | None = None) -> None:
    """Run `service` in the foreground in `role` (None: CCPA_SERVICE_ROLE, else all) until SIGTERM."""
    chosen = role_of(role)
    if service == "all":  # every service in this one process (services/common/allinone.py)
        from services.common.allinone import serve_all

        os.environ[ROLE_VARIABLE] = chosen.value
        serve_all(chosen)
        return
    settings = load_settings(service)
    # The runtime reads its role from here, whichever way it came (the flag wins, so it overwrites the variable).
    os.environ[ROLE_VARIABLE] = chosen.value
    configure_logging(service, settings.log_level, settings.log_file)
    log.info("serving", extra={"role": chosen.value})
    app = build_app(service, settings, chosen)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, timeout_graceful_shutdown=20)


def serve_workers(service: str, role: str | None, workers: int) -> None:
    """`--workers N`: N processes answering on one listening socket. The first runs in `role` (default all), with
    every background loop; the others in the http role, API only, so one outbox relay publishes in id order."""
    chosen = role_of(role)
    if workers == 1:
        serve(service, role)
        return
    refusal = workers_refusal(workers, chosen, service)
    if refusal:
        raise SystemExit(refusal)
    settings = load_settings(service)
    configure_logging(service, settings.log_level, settings.log_file)
    listener = socket.create_server((settings.http_host, settings.http_port), backlog=2048)
    listener.set_inheritable(True)
    spawn = multiprocessing.get_context("spawn")
    roles = [chosen, *[Role.HTTP] * (workers - 1)]
    processes = [spawn.Process(target=_worker, args=(service, r.value, listener), name=f"{service}-worker-{i}")
                 for i, r in enumerate(roles)]  # fmt: skip
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    log.info("serving with workers", extra={"workers": workers, "role": chosen.value})
    try:
        processes[0].start()  # migrates and creates topics before the others start
        _wait_ready(settings.http_host, settings.http_port, processes[0], stopping)
        for process in processes[1:]:
            process.start()
        while not stopping.wait(0.5) and all(p.is_alive() for p in processes):
            pass
    finally:
        _stop_all(processes)
        listener.close()


def workers_refusal(workers: int, role: Role, service: str = "intake") -> str | None:
    """Why `--workers N` cannot run `service` in `role`, or None."""
    if workers < 1 or workers > MAX_WORKERS:
        return f"--workers {workers} is not a worker count; expected 1 to {MAX_WORKERS}"
    if workers > 1 and service == "all":
        return f"--workers {workers} shares one service's port; `all` runs each service once (serve them apart instead)"
    if workers > 1 and not role.serves_api:
        return f"--workers {workers} shares the API port; role {role.value} serves no API (run replicas instead)"
    return None


def _worker(service: str, role: str, listener: socket.socket) -> None:
    settings = load_settings(service)
    os.environ[ROLE_VARIABLE] = role
    configure_logging(service, settings.log_level, settings.log_file)
    app = build_app(service, settings, role_of(role))
    config = uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=20)
    uvicorn.Server(config).run(sockets=[listener])


def _wait_ready(host: str, port: int, first: BaseProcess, stopping: threading.Event, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and first.is_alive() and not stopping.is_set():
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: started (a 503 only says a dependency is away)
        except OSError:
            stopping.wait(0.2)
    if not stopping.is_set():
        raise SystemExit(f"the first worker did not answer /healthz within {timeout_s:.0f}s")


def _stop_all(processes: Sequence[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn drains, the runtime stops its loops
    for process in processes:
        if process.pid is not None:
            process.join(25)
            if process.is_alive():
                process.kill()


def workers_of(flag: int | None, env: Mapping[str, str] = os.environ) -> int:
    """The flag when given, else CCPA_HTTP_WORKERS, else 1; a refusal naming the variable when it is no number."""
    if flag is not None:
        return flag
    text = env.get(WORKERS_VARIABLE, "").strip()
    if not text:
        return 1
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"{WORKERS_VARIABLE} {text!r} is not a worker count; expected 1 to {MAX_WORKERS}") from None
