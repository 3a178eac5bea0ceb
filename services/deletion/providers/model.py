"""Instructions to service providers, contractors and third parties: what is asked, where it goes, the states an
instruction moves through, the retry schedule, and how a provider's HTTP answer is read.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from services.common.datamap.model import DataMap, Recipient
from services.common.logs import scrub

Kind = Literal["delete", "correct"]
DELETIONS_PATH = "/privacy/v1/deletions"
CORRECTIONS_PATH = "/privacy/v1/corrections"
MIN_RETRY_SECONDS = 1.0
INSTRUCTION_NAMESPACE = uuid.UUID("4d1f0c4e-7a53-4be4-9d0e-2f5a8c1b6e71")


class State(StrEnum):
    PENDING = "pending"  # due for sending: first attempt or a retry
    DELIVERED = "delivered"  # the provider accepted it; its confirmation is awaited
    CONFIRMED = "confirmed"  # the provider confirmed it done
    FAILED = "failed"  # rejected for good (a 4xx, or identifiers shredded); an operator fixes and requeues
    MANUAL = "manual"  # no endpoint in the data map: someone notifies the recipient and records the confirmation
    NOT_NOTIFIED = "not_notified"  # §7022(b)(3): impossible or disproportionate; the explanation is kept


class Step(StrEnum):
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    RETRY = "retry"
    REQUEUED = "requeued"
    ATTESTED = "attested"  # an operator records the recipient's confirmation, given by other means
    ASKED_AGAIN = "asked_again"  # an operator has it sent (pending) or its status asked (delivered) now


TRANSITIONS: Mapping[tuple[State, Step], State] = {
    (State.PENDING, Step.DELIVERED): State.DELIVERED,
    (State.PENDING, Step.CONFIRMED): State.CONFIRMED,  # completed at once, or its callback overtook the answer
    (State.PENDING, Step.FAILED): State.FAILED,
    (State.PENDING, Step.RETRY): State.PENDING,
    (State.DELIVERED, Step.CONFIRMED): State.CONFIRMED,
    (State.DELIVERED, Step.FAILED): State.FAILED,  # the provider reports it could not carry it out
    (State.DELIVERED, Step.RETRY): State.DELIVERED,  # not confirmed yet: ask again later
    (State.FAILED, Step.REQUEUED): State.PENDING,
    # Only an operator confirms what no endpoint can: a manual recipient, or a failed one they reached otherwise.
    (State.MANUAL, Step.ATTESTED): State.CONFIRMED,
    (State.FAILED, Step.ATTESTED): State.CONFIRMED,
    (State.PENDING, Step.ASKED_AGAIN): State.PENDING,
    (State.DELIVERED, Step.ASKED_AGAIN): State.DELIVERED,
}
NOT_RESENT = {
    State.MANUAL: "no endpoint: confirm it by hand once the recipient has confirmed",
    State.CONFIRMED: "already confirmed",
    State.NOT_NOTIFIED: "not notified (§7022(b)(3)): there is nothing to send",
}
NOT_CONFIRMED = {
    State.CONFIRMED: "already confirmed",
    State.NOT_NOTIFIED: "not notified (§7022(b)(3)): there is nothing to confirm",
    State.PENDING: "it has an endpoint and is still being sent: its confirmation comes from the recipient",
    State.DELIVERED: "it has an endpoint and was delivered: its confirmation comes from the recipient; re-send asks",
}


def next_state(current: State, step: Step) -> State | None:
    """The state after `step`, or None when the step no longer applies (a late answer after a confirmation)."""
    return TRANSITIONS.get((current, step))


class OperatorRefused(ValueError):
    """An operator's action the instruction's state does not allow; the message says why, for a person."""


def confirmable(state: State) -> bool:
    """Whether an operator may record this instruction's confirmation (manual, or failed and reached otherwise)."""
    return next_state(state, Step.ATTESTED) is not None


def resend_step(state: State, holds_payload: bool) -> Step:
    """What re-sending does in this state: requeue a failed instruction, or ask a pending or delivered one now."""
    if state is State.FAILED:
        if not holds_payload:
            raise OperatorRefused("its identifiers are no longer held (erased once delivered, or crypto-shredded): "
                                  "instruct the recipient by other means and confirm it by hand")  # fmt: skip
        return Step.REQUEUED
    if next_state(state, Step.ASKED_AGAIN) is None:
        raise OperatorRefused(NOT_RESENT.get(state, f"cannot be re-sent while {state}"))
    return Step.ASKED_AGAIN


def check_confirmable(state: State) -> None:
    if not confirmable(state):
        raise OperatorRefused(NOT_CONFIRMED.get(state, f"cannot be confirmed while {state}"))


@dataclass(frozen=True)
class Notice:
    """What the deletion service asks every recipient of one request to do."""

    request_id: str
    subject_key: str
    kind: Kind
    identifiers: Mapping[str, Sequence[str]]  # identifier kind → values; sealed at rest, sent only in the body
    deadline: datetime
    corrections: Mapping[str, str] = field(default_factory=dict)  # provider field (or collection.field) → value
    callback_url: str | None = None

    def __post_init__(self) -> None:
        if not any(self.identifiers.values()):
            raise ValueError("a notice needs at least one identifier value, so the recipient can find the consumer")
        if self.kind == "correct" and not self.corrections:
            raise ValueError("a correct notice needs `corrections`: field → corrected value")
        if self.kind == "delete" and self.corrections:
            raise ValueError("a delete notice carries no `corrections`")
        if self.deadline.tzinfo is None:
            raise ValueError("deadline must be a timezone-aware UTC instant")

    def document(self) -> dict[str, Any]:
        """The personal information of the notice, sealed at rest."""
        return {"identifiers": {kind: list(values) for kind, values in self.identifiers.items()},
                "corrections": dict(self.corrections)}  # fmt: skip


def instruction_id_for(request_id: str, kind: Kind, recipient: str) -> str:
    """Stable per request, kind and recipient: enqueueing twice gives the same instruction and idempotency key."""
    return str(uuid.uuid5(INSTRUCTION_NAMESPACE, f"{request_id}:{kind}:{recipient}"))


def subject_ref_for(subject_key: str, recipient: str) -> str:
    """What a recipient is told about the subject: keyed by the subject key, different for every recipient."""
    return hmac.new(subject_key.encode(), recipient.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Endpoint:
    """How one recipient is reached; secrets are named by environment variable, never stored."""

    recipient: str
    role: str
    deletions_url: str | None = None
    corrections_url: str | None = None
    token_env: str | None = None
    signing_secret_env: str | None = None
    disproportionate_effort: str | None = None
    timeout_seconds: float = 10.0

    def url_for(self, kind: Kind) -> str | None:
        return self.deletions_url if kind == "delete" else self.corrections_url


@dataclass(frozen=True)
class Credentials:
    token: str
    signing_secret: bytes


class ProviderConfigError(ValueError):
    """A recipient cannot be reached as configured; the message names the setting to fix."""


class ProviderDirectory:
    """Endpoints of the data map's recipients, and their secrets read from the environment at send time."""

    def __init__(self, endpoints: Mapping[str, Endpoint]) -> None:
        self.endpoints = dict(endpoints)

    @classmethod
    def from_datamap(cls, datamap: DataMap, signing_secret_envs: Mapping[str, str] | None = None) -> ProviderDirectory:
        """`signing_secret_envs`: recipient → variable holding its signing secret (until the data map names it)."""
        envs = signing_secret_envs or {}
        return cls({r.name: _endpoint(datamap, r, envs.get(r.name)) for r in datamap.recipients})

    def endpoint(self, recipient: str) -> Endpoint:
        if recipient not in self.endpoints:
            raise ProviderConfigError(f"unknown recipient {recipient!r}; the data map lists: "
                                      + ", ".join(sorted(self.endpoints)))  # fmt: skip
        return self.endpoints[recipient]

    def credentials(self, recipient: str, env: Mapping[str, str]) -> Credentials:
        endpoint = self.endpoint(recipient)
        return Credentials(_secret(env, endpoint.token_env, recipient, "auth.token_env", "bearer token"),
                           _secret(env, endpoint.signing_secret_env, recipient, "signing secret env",
                                   "HMAC signing secret").encode())  # fmt: skip


def _endpoint(datamap: DataMap, recipient: Recipient, signing_secret_env: str | None) -> Endpoint:
    store = next((s for s in datamap.stores if s.kind == "http" and s.recipient == recipient.name), None)
    deletions = recipient.deletion_url or (store.url.rstrip("/") + DELETIONS_PATH if store and store.url else None)
    auth = recipient.auth or (store.auth if store else None)
    named_env: str | None = getattr(recipient, "signing_secret_env", None)  # once the data map model has it
    return Endpoint(
        recipient=recipient.name,
        role=recipient.role,
        deletions_url=deletions,
        corrections_url=_corrections_url(deletions),
        token_env=auth.token_env if auth else None,
        signing_secret_env=named_env or signing_secret_env,
        disproportionate_effort=recipient.disproportionate_effort,
        timeout_seconds=store.timeout_seconds if store else 10.0,
    )


def _corrections_url(deletions_url: str | None) -> str | None:
    """By the protocol's convention the sibling of `.../deletions`; any other deletion URL has none."""
    if deletions_url is None or not deletions_url.endswith("/deletions"):
        return None
    return deletions_url.removesuffix("/deletions") + "/corrections"


def _secret(env: Mapping[str, str], variable: str | None, recipient: str, setting: str, what: str) -> str:
    if not variable:
        raise ProviderConfigError(f"recipient {recipient}: no {setting} is configured; it must name the "
                                  f"environment variable holding its {what}")  # fmt: skip
    value = env.get(variable, "")
    if not value:
        raise ProviderConfigError(f"recipient {recipient}: environment variable {variable} is not set or empty; "
                                  f"it must hold its {what}")  # fmt: skip
    return value


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with equal jitter: attempt n waits between half and all of min(cap, base·2^(n-1))."""

    base_seconds: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int | None = None  # None: retry until delivered; the deadline raises the alarm meanwhile
    lease_seconds: float = 60.0  # a claimed instruction is resent after this if its sender died mid-attempt

    def ceiling(self, attempt: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1)))

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """At least a second: two attempts signed within the same second would carry the same signature, and
        the second would be refused as a replay."""
        ceiling = self.ceiling(attempt)
        jittered = ceiling / 2 + rng.random() * ceiling / 2
        return max(MIN_RETRY_SECONDS, min(self.cap_seconds, max(jittered, retry_after or 0.0)))

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


@dataclass(frozen=True)
class PollPolicy:
    """How often a delivered, unconfirmed instruction's status is asked: doubling from `first` up to `cap`."""

    first_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, polls: int) -> float:
        return float(min(self.cap_seconds, self.first_seconds * 2 ** max(0, polls)))


@dataclass(frozen=True)
class Answer:
    """A provider's answer, read: the step it causes, and what is recorded with it."""

    step: Step
    confirmation_id: str | None = None
    detail: str = ""
    status_code: int | None = None
    retry_after: float | None = None


def read_answer(status_code: int, body: Mapping[str, Any] | None, retry_after: str | None = None) -> Answer:
    """The answer to a POSTed instruction (see docs/providers.md, 'Answers')."""
    confirmation = _text((body or {}).get("confirmation_id"))
    if 200 <= status_code < 300:
        step = Step.CONFIRMED if (body or {}).get("status") == "completed" else Step.DELIVERED
        return Answer(step, confirmation, f"HTTP {status_code}", status_code)
    if status_code == 409:
        return Answer(Step.DELIVERED, confirmation, "HTTP 409: already received", status_code)
    if status_code >= 500 or status_code in (408, 429):
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return Answer(Step.RETRY, None, f"HTTP {status_code}", status_code, wait)
    return Answer(Step.FAILED, None, f"HTTP {status_code}: {_reason(body)}", status_code)


def read_status(status_code: int, body: Mapping[str, Any] | None) -> Answer | None:
    """The answer to a status poll; None while the provider is still working on it (or could not say)."""
    if status_code != 200 or body is None:
        return None
    status = body.get("status")
    if status == "completed":
        return Answer(Step.CONFIRMED, _text(body.get("confirmation_id")), "completed", status_code)
    if status in ("failed", "rejected"):
        return Answer(Step.FAILED, None, f"provider reports {status}: {_reason(body)}", status_code)
    return None


def _text(value: object) -> str | None:
    return str(value)[:200] if value is not None else None


def _reason(body: Mapping[str, Any] | None) -> str:
    detail = (body or {}).get("detail") or (body or {}).get("reason") or "no reason given"
    return scrub(str(detail))[:240]  # a provider's message may quote what it was sent
