"""Start one service's HTTP app (with its background workers) under uvicorn, with JSON logs."""

from __future__ import annotations

import importlib
from typing import Any

import uvicorn
from pydantic import ValidationError

from services.common.logs import configure_logging
from services.common.settings import refused_settings

SERVICES = {
    "intake": ("services.intake.app", "services.intake.settings", "IntakeSettings"),
    "audit": ("services.audit.app", "services.audit.settings", "AuditSettings"),
    "optout": ("services.optout.app", "services.optout.settings", "OptoutSettings"),
    "discovery": ("services.discovery.app", "services.discovery.settings", "DiscoverySettings"),
    "deletion": ("services.deletion.app", "services.deletion.settings", "DeletionSettings"),
    "console": ("services.console.app", "services.console.settings", "ConsoleSettings"),
}


def load_settings(service: str) -> Any:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    _app_module, settings_module, settings_class = SERVICES[service]
    settings = getattr(importlib.import_module(settings_module), settings_class)
    try:
        return settings()
    except ValidationError as exc:
        raise SystemExit(refused_settings(service, settings, exc)) from None


def serve(service: str) -> None:
    settings = load_settings(service)
    configure_logging(service, settings.log_level, settings.log_file)
    app = importlib.import_module(SERVICES[service][0]).create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, timeout_graceful_shutdown=20)
