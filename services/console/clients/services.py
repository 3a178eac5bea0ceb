"""The services the console calls, one client each, made from its settings with its own token."""

from __future__ import annotations

from dataclasses import dataclass

from services.console.clients.base import ServiceClient
from services.console.settings import ConsoleSettings


@dataclass
class Services:
    intake: ServiceClient
    audit: ServiceClient
    deletion: ServiceClient
    optout: ServiceClient

    @classmethod
    def of(cls, settings: ConsoleSettings) -> Services:
        token, timeout = settings.service_token.get_secret_value(), settings.call_timeout_seconds

        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, token, timeout)

        return cls(client("intake", settings.intake_url), client("audit", settings.audit_url),
                   client("deletion", settings.deletion_url), client("optout", settings.optout_url))  # fmt: skip

    def close(self) -> None:
        for client in (self.intake, self.audit, self.deletion, self.optout):
            client.close()
