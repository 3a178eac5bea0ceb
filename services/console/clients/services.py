"""The clients of every service the console calls, built once from its settings with its own token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.console.clients.audit import AuditClient
from services.console.clients.base import ServiceClient
from services.console.clients.optout import OptoutClient
from services.console.settings import ConsoleSettings


@dataclass
class Services:
    intake: ServiceClient
    audit: AuditClient
    deletion: ServiceClient
    optout: OptoutClient

    @classmethod
    def of(cls, settings: ConsoleSettings, transport: httpx.BaseTransport | None = None) -> Services:
        token, timeout = settings.service_token.get_secret_value(), settings.call_timeout_seconds
        return cls(
            intake=ServiceClient("intake", settings.intake_url, token, timeout, transport=transport),
            audit=AuditClient(settings.audit_url, token, timeout, transport=transport),
            deletion=ServiceClient("deletion", settings.deletion_url, token, timeout, transport=transport),
            optout=OptoutClient(settings.optout_url, token, timeout, transport=transport),
        )

    def close(self) -> None:
        for client in (self.intake, self.audit, self.deletion, self.optout):
            client.close()
