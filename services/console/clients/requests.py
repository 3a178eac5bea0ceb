"""Audit's timeline of one request as the request page reads it: its entries, its §7101 record and its subject key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.console.clients.base import ServiceClient, ServiceRefused


@dataclass(frozen=True)
class Timeline:
    request_id: str
    subject_key: str | None  # the request's subject (an HMAC); None until audit has read its RequestSubmitted
    record: dict[str, Any] | None  # the §7101 record's fields
    entries: list[dict[str, Any]]


def timeline(audit: ServiceClient, request_id: str) -> Timeline | None:
    """The request's timeline, or None when audit has nothing on it (yet)."""
    try:
        body = audit.get(f"/v1/requests/{request_id}/timeline")
    except ServiceRefused as refused:
        if refused.status_code == 404:
            return None
        raise
    return Timeline(request_id, body.get("subject_key"), body.get("record"), list(body.get("entries") or []))
