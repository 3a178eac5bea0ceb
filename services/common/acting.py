"""Who acts on a submitted request, read from the RequestSubmitted event intake wrote: every consumer asks here.

Intake decides (verification, an agent's permission) and names the acting services on the event. An event
written with release 1 carries neither: its decision is read from the fields intake decided it from, with the
rule intake applied then, so events already on the topics are acted on as they were.
"""

from __future__ import annotations

from services.common.payloads.requests import RequestSubmittedPayload
from services.common.request_types import ActingService, RequestDecision, RequestType, acting_services

ACCEPTED_VERIFICATION = frozenset({"verified", "not_required"})


def decision_of(payload: RequestSubmittedPayload) -> RequestDecision:
    if payload.decision is not None:
        return RequestDecision(payload.decision)
    return _legacy_decision(payload)


def services_acting_on(payload: RequestSubmittedPayload) -> frozenset[ActingService]:
    if payload.acting_services is not None:
        return frozenset(ActingService(name) for name in payload.acting_services)
    return frozenset(acting_services(RequestType(payload.request_type), decision_of(payload)))


def acts_on(service: ActingService, payload: RequestSubmittedPayload) -> bool:
    """True when the request names this service among those that act on it."""
    return service in services_acting_on(payload)


def _legacy_decision(payload: RequestSubmittedPayload) -> RequestDecision:
    if payload.authorized_agent and not payload.agent_permission_verified:
        return RequestDecision.DENIED
    if RequestType(payload.request_type).is_opt_out_family or payload.verification_outcome in ACCEPTED_VERIFICATION:
        return RequestDecision.ACCEPTED
    # §7024(a): an unverified know_specific reaching the first level is answered as know_categories.
    downgraded = (payload.requested_type, payload.request_type) == (
        RequestType.KNOW_SPECIFIC,
        RequestType.KNOW_CATEGORIES,
    )
    return RequestDecision.ACCEPTED if downgraded else RequestDecision.DENIED
