"""`ccpa serve all`: every service in one process for a small install, each still with its own settings, database,
Kafka client and consumer groups, and its own HTTP port, so every URL is the one the separate services have.

A setting one service needs different from the others (its Kafka principal in CCPA_KAFKA_EXTRA_CONFIG, optout's
CCPA_DATAMAP, the console's CCPA_SERVICE_TOKEN) is given as CCPA_<SERVICE>__<VARIABLE>: e.g.
CCPA_OPTOUT__CCPA_DATAMAP=crm.yaml is CCPA_DATAMAP for optout alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

# Started in this order: audit first, so the timeline is listening before intake accepts anything; the console
# last, since it calls the others.
ALL_IN_ONE = ("audit", "optout", "discovery", "deletion", "intake", "console")
SERVICES_VARIABLE = "CCPA_ALL_IN_ONE_SERVICES"
GRACEFUL_SECONDS = 20


class AllInOneRefused(ValueError):
    """A service list naming something that is not a service."""


def chosen_services(text: str | None) -> tuple[str, ...]:
    """The services to run, in start order: those `text` names (comma-separated), else every one."""
    if not text or not text.strip():
        return ALL_IN_ONE
    named = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(named - set(ALL_IN_ONE))
    if unknown:
        raise AllInOneRefused(f"{', '.join(unknown)}: not a service; expected some of {', '.join(ALL_IN_ONE)}")
    return tuple(service for service in ALL_IN_ONE if service in named)


def overrides(service: str, env: Mapping[str, str]) -> dict[str, str]:
    """The variables given to `service` alone (CCPA_<SERVICE>__<VARIABLE>), by the name the service reads."""
    prefix = f"CCPA_{service.upper()}__"
    return {
        name.removeprefix(prefix): value for name, value in env.items() if name.startswith(prefix) and name != prefix
    }


@contextlib.contextmanager
def service_environment(service: str, env: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """The process environment as `service` alone sees it, while its settings are read and its app is built (the
    store connectors read DEMO_* variables then); the shared values come back afterwards."""
    own = overrides(service, env)
    saved = {name: env.get(name) for name in own}
    env.update(own)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value


class PartServer(uvicorn.Server):
    """One service's uvicorn server; the all-in-one process handles the signals for all of them at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Part:
    service: str
    server: PartServer


def build_parts(services: tuple[str, ...], role: Any) -> list[Part]:
    """Each service's settings and app, each read in its own environment."""
    from services.common.serve import build_app, load_settings

    parts = []
    for service in services:
        with service_environment(service):
            settings = load_settings(service)
            app: FastAPI = build_app(service, settings, role)
        config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None,
                                timeout_graceful_shutdown=GRACEFUL_SECONDS)  # fmt: skip
        parts.append(Part(service, PartServer(config)))
    return parts


async def run_parts(parts: list[Part]) -> int:
    """Start the services one after the other (each migrates and checks its topics before the next), serve until
    SIGTERM or SIGINT, then stop them all; 1 when one failed to start or stopped on its own."""
    stopping = asyncio.Event()

    def stop_all(signum: int, _frame: Any) -> None:
        log.info("stopping every service", extra={"signal": signal.Signals(signum).name})
        stopping.set()
        for part in parts:
            part.server.handle_exit(signum, None)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_all)
    tasks: list[asyncio.Task[None]] = []
    failed = False
    for part in parts:
        if stopping.is_set():
            break
        task = asyncio.create_task(_serve(part), name=part.service)
        tasks.append(task)
        while not part.server.started and not task.done():
            await asyncio.sleep(0.05)
        if not part.server.started:
            log.error("service did not start", extra={"part": part.service})
            failed = True
            break
        log.info("service started", extra={"part": part.service, "port": part.server.config.port})
    if failed:
        stop_all(signal.SIGTERM, None)
    done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if not stopping.is_set():  # one ended without being told: the process is not whole any more
        log.error("a service stopped on its own", extra={"part": [task.get_name() for task in done]})
        failed = True
        stop_all(signal.SIGTERM, None)
    await asyncio.gather(*tasks, return_exceptions=True)
    return 1 if failed else 0


async def _serve(part: Part) -> None:
    try:
        await part.server.serve()
    except SystemExit:  # uvicorn's answer to a port it cannot bind: this part failed, the others stop in order
        log.error("service exited", extra={"part": part.service})


def serve_all(role: Any, services_text: str | None = None) -> None:
    """Run every service (or those CCPA_ALL_IN_ONE_SERVICES / --services names) in this process until SIGTERM."""
    from services.common.logs import configure_logging

    try:
        services = chosen_services(services_text or os.environ.get(SERVICES_VARIABLE))
    except AllInOneRefused as refused:
        raise SystemExit(f"{SERVICES_VARIABLE} / --services: {refused}") from None
    configure_logging("all", os.environ.get("CCPA_LOG_LEVEL", "INFO"), os.environ.get("CCPA_LOG_FILE") or None)
    log.info("serving all in one process", extra={"parts": list(services), "role": role.value})
    parts = build_parts(services, role)
    raise SystemExit(asyncio.run(run_parts(parts)))


if __name__ == "__main__":  # `python -m services.common.allinone`, as `ccpa serve all`
    from services.common.serve import serve

    serve("all")
