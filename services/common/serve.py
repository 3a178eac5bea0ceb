"""Start one service under uvicorn, with JSON logs, in a role: the API and its workers (all), the workers with only
the ops routes on the port (worker), or the API with no worker (http)."""

from __future__ import annotations

import importlib
import logging
import os
from typing import TYPE_CHECKING, Any

import uvicorn
from pydantic import ValidationError

from services.common.logs import configure_logging
from services.common.roles import ROLE_VARIABLE, Role, RoleRefused, resolve_role
from services.common.settings import refused_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

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
    settings = load_settings(service)
    # The runtime reads its role from here, whichever way it came (the flag wins, so it overwrites the variable).
    os.environ[ROLE_VARIABLE] = chosen.value
    configure_logging(service, settings.log_level, settings.log_file)
    log.info("serving", extra={"role": chosen.value})
    app = build_app(service, settings, chosen)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, timeout_graceful_shutdown=20)
