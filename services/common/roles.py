"""What one service process runs: the API, the workers (consumers, loops, relays), or both; and how a process is
told (`ccpa serve SERVICE --role`, or CCPA_SERVICE_ROLE for `python -m services.X`), so consumers scale apart from
the HTTP servers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum

ROLE_VARIABLE = "CCPA_SERVICE_ROLE"


class Role(StrEnum):
    """A process's part of its service; a background loop is tagged WORKER (reads Kafka, works the tables) or
    HTTP (flushes what the API itself buffered, so it must run where the API runs)."""

    ALL = "all"
    WORKER = "worker"
    HTTP = "http"

    def runs(self, side: Role) -> bool:
        """Whether a process in this role runs a loop of `side` (WORKER or HTTP)."""
        return self is Role.ALL or self is side

    @property
    def serves_api(self) -> bool:
        """The API's routes are served (the ops routes, /healthz /readyz /metrics, are served in every role)."""
        return self is not Role.WORKER


ALLOWED = ", ".join(role.value for role in Role)


class RoleRefused(ValueError):
    """A role that is none of all, worker, http."""


def parse_role(text: str, source: str = "--role") -> Role:
    """The role `text` names (any case, spaces ignored), or RoleRefused naming the allowed ones."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise RoleRefused(f"{source} {text!r} is not a role; expected one of {ALLOWED}") from None


def resolve_role(flag: str | None, env: Mapping[str, str] = os.environ) -> Role:
    """The CLI flag when given, else CCPA_SERVICE_ROLE, else all."""
    if flag is not None:
        return parse_role(flag)
    if configured := env.get(ROLE_VARIABLE, "").strip():
        return parse_role(configured, ROLE_VARIABLE)
    return Role.ALL
