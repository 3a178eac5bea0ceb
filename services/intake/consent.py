"""Consent look-up for sites and ad-tech callers: identifiers in, the opt-out service's current state out."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.crypto import keyed_hash
from services.common.identity import IdentifierKind
from services.intake.handlers import IntakeService


class OptoutUnavailable(RuntimeError):
    pass


class ConsentLookupService:
    def __init__(self, intake: IntakeService, optout_url: str, api_token: str) -> None:
        self.intake = intake
        self.client = httpx.Client(base_url=optout_url, timeout=5.0,
                                   headers={"Authorization": f"Bearer {api_token}"})  # fmt: skip

    def lookup(self, identifiers: dict[str, str]) -> dict[str, Any]:
        """The known consumer's state and, when a device id is given, the browser/device profile's (§7025(c)(1))."""
        subject = self.intake.subject_of(identifiers)
        consumer = self._state(subject.subject_key)
        device_id = subject.identifiers.get(IdentifierKind.DEVICE_ID)
        device_key = keyed_hash(self.intake.subject_secret, "device_id", device_id) if device_id else None
        device = self._state(device_key) if device_key and device_key != subject.subject_key else None
        effective = _strictest(consumer, device)
        return {**effective, "consumer": consumer, "device": device}

    def state_of(self, subject_key: str) -> dict[str, Any]:
        """What the opt-out service holds for one subject key (`known` false: no choice recorded)."""
        return self._state(subject_key)

    def _state(self, subject_key: str) -> dict[str, Any]:
        try:
            response = self.client.get(f"/v1/consent/{subject_key}")
        except httpx.HTTPError as exc:
            raise OptoutUnavailable("the opt-out service does not answer") from exc
        if response.status_code != 200:
            raise OptoutUnavailable(f"the opt-out service answered {response.status_code}")
        return dict(response.json())

    def close(self) -> None:
        self.client.close()


def _strictest(consumer: dict[str, Any], device: dict[str, Any] | None) -> dict[str, Any]:
    """A browser that sent GPC is opted out even where the known consumer's own record says otherwise."""
    if device is None or not device["known"]:
        return {key: consumer[key] for key in _PUBLIC}
    chosen = device if (device["sale_opt_out"], device["share_opt_out"]) > (
        consumer["sale_opt_out"], consumer["share_opt_out"]) else consumer  # fmt: skip
    merged = {key: chosen[key] for key in _PUBLIC}
    merged["limit_sensitive"] = sorted(set(consumer["limit_sensitive"]) | set(device["limit_sensitive"]))
    return merged


_PUBLIC = ("sale_opt_out", "share_opt_out", "limit_sensitive", "source", "effective_at", "gpp", "usp",
           "confirmation", "may_ask_to_opt_in")  # fmt: skip
