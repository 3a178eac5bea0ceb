"""Who acts on a submitted request: the request type -> acting services table, intake's decision written on
RequestSubmitted, and the same decision read back from events written before those fields existed."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from services.common.acting import acts_on, decision_of, services_acting_on
from services.common.payloads.requests import RequestSubmittedPayload
from services.common.request_types import ACTING_SERVICES, ActingService, RequestDecision, RequestType, acting_services
from services.intake.decisions import decide
from services.intake.verification import Outcome, VerificationLevel, VerificationResult
from tests.nonsense import well_formed

DISCOVERY, DELETION, OPTOUT = ActingService.DISCOVERY, ActingService.DELETION, ActingService.OPTOUT
KNOW = ("know_categories", "know_specific")


def legacy(**fields: Any) -> RequestSubmittedPayload:
    """A RequestSubmitted as written with release 1: no decision, no acting services."""
    base: RequestSubmittedPayload = well_formed("RequestSubmitted").payload
    values = {"request_type": "know_specific", "requested_type": "know_specific", "authorized_agent": False,
              "agent_permission_verified": False, "verification_outcome": "verified", **fields}  # fmt: skip
    return dataclasses.replace(base, decision=None, acting_services=None, **values)


def test_every_request_type_has_its_acting_services() -> None:
    assert set(ACTING_SERVICES) == set(RequestType)
    assert {kind: ACTING_SERVICES[RequestType(kind)] for kind in KNOW} == {kind: {DISCOVERY} for kind in KNOW}
    assert ACTING_SERVICES[RequestType.DELETE] == ACTING_SERVICES[RequestType.CORRECT] == {DISCOVERY, DELETION}
    for kind in (RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN):
        assert ACTING_SERVICES[kind] == {OPTOUT}


@pytest.mark.parametrize("request_type", list(RequestType))
def test_nobody_acts_on_a_denied_request(request_type: RequestType) -> None:
    assert acting_services(request_type, RequestDecision.DENIED) == ()
    assert set(acting_services(request_type, RequestDecision.ACCEPTED)) == ACTING_SERVICES[request_type]


def test_the_services_written_on_the_event_decide() -> None:
    written = dataclasses.replace(legacy(verification_outcome="no_match"), decision="accepted",
                                  acting_services=("discovery",))  # fmt: skip
    assert acts_on(DISCOVERY, written) and not acts_on(DELETION, written)
    nobody = dataclasses.replace(legacy(), decision="denied", acting_services=())
    assert services_acting_on(nobody) == frozenset() and decision_of(nobody) is RequestDecision.DENIED


# Events written with release 1: the rules discovery, deletion and optout each applied then.
@pytest.mark.parametrize("request_type", ["know_categories", "know_specific", "delete", "correct"])
def test_verified_know_delete_correct_are_discovered(request_type: str) -> None:
    assert acts_on(DISCOVERY, legacy(request_type=request_type, requested_type=request_type))


@pytest.mark.parametrize("request_type", ["opt_out", "limit", "opt_in"])
def test_opt_out_family_is_not_discovered_but_applied(request_type: str) -> None:
    payload = legacy(request_type=request_type, requested_type=request_type, verification_outcome="not_required")
    assert services_acting_on(payload) == {OPTOUT}


def test_unverified_requests_are_not_discovered() -> None:
    payload = legacy(request_type="delete", requested_type="delete", verification_outcome="no_match")
    assert services_acting_on(payload) == frozenset()


def test_know_specific_downgraded_to_categories_is_discovered() -> None:
    """§7024(a): not verified enough for specific pieces, answered as a categories request."""
    assert services_acting_on(legacy(request_type="know_categories", verification_outcome="insufficient")) == {
        DISCOVERY
    }


@pytest.mark.parametrize("request_type", ["know_specific", "delete", "opt_out"])
def test_agent_without_permission_is_not_acted_on(request_type: str) -> None:
    payload = legacy(request_type=request_type, requested_type=request_type, authorized_agent=True)
    assert services_acting_on(payload) == frozenset()
    assert (
        services_acting_on(dataclasses.replace(payload, agent_permission_verified=True))
        == (ACTING_SERVICES[RequestType(request_type)])
    )


def test_deletion_acts_only_on_delete_and_correct() -> None:
    assert [kind for kind in RequestType if acts_on(DELETION, legacy(request_type=kind, requested_type=kind))] == [
        RequestType.DELETE,
        RequestType.CORRECT,
    ]


OUTCOMES: list[tuple[Outcome, VerificationLevel]] = [
    ("verified", VerificationLevel.REASONABLY_HIGH),
    ("not_required", VerificationLevel.NONE),
    ("insufficient", VerificationLevel.REASONABLE),
    ("insufficient", VerificationLevel.NONE),
    ("no_match", VerificationLevel.NONE),
]


# The opt-out family is never verified (§7060(b)): intake's verifier only ever answers not_required for it.
CASES = [(requested, verification, agent)
         for requested, verification, agent in itertools.product(RequestType, OUTCOMES, ["none", "with", "without"])
         if not requested.is_opt_out_family or verification[0] == "not_required"]  # fmt: skip


@pytest.mark.parametrize(("requested", "verification", "agent"), CASES)
def test_intake_decides_what_the_consumers_decided_before(
    requested: RequestType, verification: tuple[Outcome, VerificationLevel], agent: str
) -> None:
    """What intake writes on the event names the same services as the old consumer rules read from its fields."""
    outcome, achieved = verification
    result = VerificationResult(VerificationLevel.REASONABLY_HIGH, achieved, 0, outcome, reason="test")
    decision = decide(requested, result, agent_without_permission=agent == "without")
    decided = RequestDecision.DENIED if decision.denial else RequestDecision.ACCEPTED
    fields = legacy(request_type=decision.request_type, requested_type=requested, verification_outcome=outcome,
                    authorized_agent=agent != "none", agent_permission_verified=agent == "with")  # fmt: skip
    written = dataclasses.replace(fields, decision=decided, acting_services=acting_services(decision.request_type,
                                                                                            decided))  # fmt: skip
    assert services_acting_on(written) == services_acting_on(fields)
    assert decision_of(written) is decision_of(fields)
