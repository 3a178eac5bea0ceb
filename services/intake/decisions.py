"""Pure intake rules: what a verified (or not) submission becomes, and what the consumer is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.clocks import BUSINESS_TZ
from services.common.request_types import RequestType
from services.intake.verification import VerificationLevel, VerificationResult

ACCEPTED_OUTCOMES = ("verified", "not_required")


@dataclass(frozen=True)
class Denial:
    code: str
    basis: str


@dataclass(frozen=True)
class Decision:
    request_type: RequestType
    status: str
    denial: Denial | None


def decide(requested: RequestType, verification: VerificationResult, agent_without_permission: bool) -> Decision:
    if agent_without_permission:
        return _denied(
            requested,
            "not_made_by_consumer",
            "an authorized agent must provide the consumer's signed permission (§7063, §7026(d))",
        )
    if verification.outcome in ACCEPTED_OUTCOMES:
        return Decision(requested, _working_status(requested), None)
    if requested is RequestType.KNOW_SPECIFIC and verification.achieved is VerificationLevel.REASONABLE:
        # §7024(a): not verified for specific pieces, so answer as a request for categories.
        return Decision(RequestType.KNOW_CATEGORIES, "acknowledged", None)
    return _denied(requested, "not_verified", _unverified_basis(requested, verification))


def _working_status(request_type: RequestType) -> str:
    return "acknowledged" if request_type.needs_response_clock else "received"


def _denied(requested: RequestType, code: str, basis: str) -> Decision:
    return Decision(requested, "denied", Denial(code, basis))


def _unverified_basis(requested: RequestType, verification: VerificationResult) -> str:
    # One message for "no record" and "too few matches", so a denial does not reveal whether we hold data.
    degree = verification.required.value.replace("_", " ")
    basis = f"we could not verify your identity to the {degree} degree (§7062)"
    if requested is RequestType.DELETE:
        basis += (
            "; you may still ask us to stop selling or sharing your personal information, which needs no verification"
        )
    return basis


def acknowledgement(decision: Decision, respond_by: datetime) -> str:
    """§7021(a): confirm receipt, describe verification and say when to expect the response."""
    due = respond_by.astimezone(BUSINESS_TZ).date().isoformat()
    if decision.denial is not None:
        return f"We received your request and cannot act on it: {decision.denial.basis}."
    if decision.request_type.is_opt_out_family:
        return (
            f"We received your {decision.request_type.value} request. It needs no verification and takes "
            f"effect as soon as possible, at the latest by {due}."
        )
    return (
        f"We received your {decision.request_type.value} request and verified your identity from the "
        f"information you gave. We will respond by {due} (45 days, extendable once to 90 with notice)."
    )
