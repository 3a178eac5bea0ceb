"""Deletion's API as the console uses it: a request's recipients and their instructions (confirm a manual one,
send one again) and the legal holds on a subject (list, place, release)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.console.clients.base import ServiceClient
from services.console.clients.parsing import items_of, moment

MANUAL = "manual"  # no endpoint in the data map: a person notifies the recipient and records its confirmation


@dataclass(frozen=True)
class Recipient:
    """One recipient's instruction for the request and where it stands."""

    instruction_id: str
    recipient: str
    operation: str  # delete | correct
    state: str  # pending | delivered | confirmed | failed | manual | not_notified
    confirm_by: datetime | None
    confirmed_at: datetime | None
    confirmation_id: str | None
    explanation: str | None  # not_notified: the §7022 explanation; manual: what to do; failed: why
    confirmation_note: str | None
    may_confirm: bool  # deletion's word: a manual (or failed) one may be confirmed by hand
    may_resend: bool  # a failed one may be sent again, a pending or delivered one asked again now

    @property
    def awaits_a_person(self) -> bool:
        return self.state == MANUAL

    @classmethod
    def of(cls, body: dict[str, Any]) -> Recipient:
        state = str(body["state"])
        return cls(str(body["instruction_id"]), str(body["recipient"]),
                   str(body.get("kind") or body.get("operation") or "delete"), state,
                   moment(body.get("deadline") or body.get("confirm_by")), moment(body.get("confirmed_at")),
                   body.get("confirmation_id"), body.get("reason") or body.get("explanation"),
                   body.get("confirmation_note"), bool(body.get("may_confirm", state == MANUAL)),
                   bool(body.get("may_resend", state in ("pending", "delivered", "failed"))))  # fmt: skip


@dataclass(frozen=True)
class Hold:
    hold_id: str
    reason: str
    store: str | None
    placed_at: datetime | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Hold:
        return cls(str(body["hold_id"]), str(body.get("reason") or ""), body.get("store"),
                   moment(body.get("placed_at") or body.get("created_at")))  # fmt: skip


def recipients(deletion: ServiceClient, request_id: str) -> list[Recipient]:
    return [Recipient.of(item) for item in items_of(deletion.get(f"/v1/requests/{request_id}/recipients"),
                                                     "recipients")]  # fmt: skip


def confirm(deletion: ServiceClient, request_id: str, instruction_id: str, note: str, confirmation_id: str | None,
            confirmed_by: str) -> None:  # fmt: skip
    """A manual recipient's confirmation that it did what it was asked, with the operator's note and account id."""
    body = {"note": note, "confirmed_by": confirmed_by, **({"confirmation_id": confirmation_id} if confirmation_id
                                                             else {})}  # fmt: skip
    deletion.post(f"/v1/requests/{request_id}/recipients/{instruction_id}/confirm", body)


def resend(deletion: ServiceClient, request_id: str, instruction_id: str, reason: str) -> None:
    deletion.post(f"/v1/requests/{request_id}/recipients/{instruction_id}/resend", {"reason": reason})


def holds(deletion: ServiceClient, subject_key: str) -> list[Hold]:
    """The legal holds in force on a subject."""
    return [Hold.of(item) for item in items_of(deletion.get("/v1/legal-holds", {"subject_key": subject_key}),
                                                "holds")]  # fmt: skip


def place_hold(deletion: ServiceClient, subject_key: str, reason: str, placed_by: str) -> Hold:
    body = {"subject_key": subject_key, "reason": reason, "placed_by": placed_by}
    return Hold.of(deletion.post("/v1/legal-holds", body))


def release_hold(deletion: ServiceClient, hold_id: str) -> bool:
    answer = deletion.delete(f"/v1/legal-holds/{hold_id}")
    return bool(answer.get("released")) if isinstance(answer, dict) else True
