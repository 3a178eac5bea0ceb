"""Optout's API as the console reads it: a subject's current consent state (GET /v1/consent/{subject_key})."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.console.clients.base import ServiceClient


@dataclass(frozen=True)
class ConsentNow:
    """A subject's consent state in force: what is opted out or limited, by what (`source`) and since when."""

    known: bool  # False: optout holds no state for this key (the defaults: nothing opted out)
    scope: str
    sale_opt_out: bool
    share_opt_out: bool
    limit_sensitive: tuple[str, ...]
    source: str
    effective_at: datetime | None
    may_ask_after: datetime | None
    under_16: bool
    confirmation: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> ConsentNow:
        return cls(bool(body.get("known")), str(body.get("scope") or "consumer"), bool(body.get("sale_opt_out")),
                   bool(body.get("share_opt_out")), tuple(body.get("limit_sensitive") or ()),
                   str(body.get("source") or "none"), _maybe_when(body.get("effective_at")),
                   _maybe_when(body.get("may_ask_after")), bool(body.get("under_16")),
                   body.get("confirmation"))  # fmt: skip


class OptoutClient(ServiceClient):
    """Optout's consent API with the console's token (scope consent:read)."""

    def __init__(self, base_url: str, token: str, timeout: float, **options: Any) -> None:
        super().__init__("optout", base_url, token, timeout, **options)

    def consent(self, subject_key: str) -> ConsentNow:
        return ConsentNow.of(self.get(f"/v1/consent/{subject_key}"))


def _maybe_when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
