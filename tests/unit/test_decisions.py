"""Unit tests of the pure intake rules: what a submission becomes after verification, and what we tell."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.request_types import RequestType
from services.intake.decisions import Decision, Denial, acknowledgement, decide
from services.intake.verification import Outcome, VerificationLevel, VerificationResult

NONE, REASONABLE = VerificationLevel.NONE, VerificationLevel.REASONABLE
HIGH = VerificationLevel.REASONABLY_HIGH
RESPONSE_TYPES = [
    RequestType.KNOW_CATEGORIES,
    RequestType.KNOW_SPECIFIC,
    RequestType.DELETE,
    RequestType.CORRECT,
]
OPT_OUT_FAMILY = [RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN]
RESPOND_BY = datetime(2026, 12, 19, 7, 59, 59, 999999, tzinfo=UTC)


def result(
    outcome: Outcome,
    required: VerificationLevel = REASONABLE,
    achieved: VerificationLevel = NONE,
    matched: int = 0,
) -> VerificationResult:
    return VerificationResult(required, achieved, matched, outcome, reason=f"test {outcome}")


VERIFIED = result("verified", REASONABLE, REASONABLE, 2)
NOT_REQUIRED = result("not_required", NONE, NONE)


class TestProceeds:
    @pytest.mark.parametrize("requested", RESPONSE_TYPES)
    def test_verified_response_types_are_acknowledged(self, requested: RequestType) -> None:
        assert decide(requested, VERIFIED, agent_without_permission=False) == Decision(requested, "acknowledged", None)

    @pytest.mark.parametrize("requested", OPT_OUT_FAMILY)
    def test_opt_out_family_is_received(self, requested: RequestType) -> None:
        assert decide(requested, NOT_REQUIRED, agent_without_permission=False) == Decision(requested, "received", None)

    def test_know_specific_verified_high_stays_specific(self) -> None:
        decision = decide(RequestType.KNOW_SPECIFIC, result("verified", HIGH, HIGH, 3), False)
        assert decision.request_type is RequestType.KNOW_SPECIFIC
        assert decision.denial is None


class TestKnowSpecificDowngrade:
    def test_reasonable_only_is_answered_as_categories(self) -> None:
        verification = result("insufficient", HIGH, REASONABLE, 2)
        assert decide(RequestType.KNOW_SPECIFIC, verification, False) == Decision(
            RequestType.KNOW_CATEGORIES, "acknowledged", None
        )

    @pytest.mark.parametrize("verification", [result("insufficient", HIGH, NONE, 1), result("no_match", HIGH)])
    def test_below_reasonable_is_denied(self, verification: VerificationResult) -> None:
        decision = decide(RequestType.KNOW_SPECIFIC, verification, False)
        assert decision.request_type is RequestType.KNOW_SPECIFIC
        assert decision.status == "denied"
        assert decision.denial is not None and decision.denial.code == "not_verified"

    def test_delete_needing_high_is_not_downgraded(self) -> None:
        decision = decide(RequestType.DELETE, result("insufficient", HIGH, REASONABLE, 2), False)
        assert decision.request_type is RequestType.DELETE
        assert decision.status == "denied"


class TestUnverified:
    @pytest.mark.parametrize("requested", RESPONSE_TYPES)
    def test_denied_not_verified(self, requested: RequestType) -> None:
        decision = decide(requested, result("insufficient", HIGH, NONE, 1), False)
        assert decision.status == "denied"
        assert decision.request_type is requested
        assert decision.denial is not None and decision.denial.code == "not_verified"
        assert "§7062" in decision.denial.basis

    @pytest.mark.parametrize("requested", RESPONSE_TYPES)
    @pytest.mark.parametrize("required", [REASONABLE, HIGH])
    def test_no_match_and_insufficient_read_the_same(self, requested: RequestType, required: VerificationLevel) -> None:
        # Identical wording, so a denial does not reveal whether we hold data about the person.
        no_record = decide(requested, result("no_match", required), False)
        too_few = decide(requested, result("insufficient", required, NONE, 1), False)
        assert no_record == too_few
        assert acknowledgement(no_record, RESPOND_BY) == acknowledgement(too_few, RESPOND_BY)

    def test_basis_names_the_required_degree_in_words(self) -> None:
        high = decide(RequestType.CORRECT, result("no_match", HIGH), False)
        reasonable = decide(RequestType.CORRECT, result("no_match", REASONABLE), False)
        assert high.denial is not None and reasonable.denial is not None
        assert "reasonably high degree" in high.denial.basis
        assert "to the reasonable degree" in reasonable.denial.basis
        assert "_" not in high.denial.basis

    def test_basis_does_not_leak_match_details(self) -> None:
        decision = decide(RequestType.DELETE, result("insufficient", REASONABLE, NONE, 1), False)
        assert decision.denial is not None
        assert "test insufficient" not in decision.denial.basis
        assert "1" not in decision.denial.basis.replace("§7062", "")

    def test_delete_denial_offers_opting_out(self) -> None:
        decision = decide(RequestType.DELETE, result("no_match"), False)
        assert decision.denial is not None
        assert "stop selling or sharing" in decision.denial.basis
        assert "needs no verification" in decision.denial.basis

    @pytest.mark.parametrize("requested", [RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC, RequestType.CORRECT])
    def test_other_denials_do_not_mention_opting_out(self, requested: RequestType) -> None:
        decision = decide(requested, result("no_match"), False)
        assert decision.denial is not None
        assert "selling" not in decision.denial.basis


class TestAgentWithoutPermission:
    @pytest.mark.parametrize("verification", [VERIFIED, NOT_REQUIRED, result("no_match")])
    def test_denied_whatever_the_verification(self, verification: VerificationResult) -> None:
        decision = decide(RequestType.DELETE, verification, agent_without_permission=True)
        assert decision.status == "denied"
        assert decision.denial is not None
        assert decision.denial.code == "not_made_by_consumer"
        assert "signed permission" in decision.denial.basis

    def test_know_specific_is_not_downgraded_for_an_agent(self) -> None:
        decision = decide(RequestType.KNOW_SPECIFIC, result("insufficient", HIGH, REASONABLE, 2), True)
        assert decision.request_type is RequestType.KNOW_SPECIFIC
        assert decision.denial is not None and decision.denial.code == "not_made_by_consumer"


class TestAcknowledgement:
    def test_due_date_is_the_los_angeles_calendar_date(self) -> None:
        text = acknowledgement(Decision(RequestType.DELETE, "acknowledged", None), RESPOND_BY)
        assert "by 2026-12-18" in text
        assert "2026-12-19" not in text

    @pytest.mark.parametrize(
        ("respond_by", "due"),
        [
            (datetime(2026, 12, 19, 8, 0, tzinfo=UTC), "2026-12-19"),  # midnight PST
            (datetime(2026, 7, 1, 6, 59, 59, 999999, tzinfo=UTC), "2026-06-30"),  # PDT is UTC-7
            (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "2026-07-01"),
        ],
    )
    def test_due_date_follows_daylight_saving(self, respond_by: datetime, due: str) -> None:
        text = acknowledgement(Decision(RequestType.KNOW_CATEGORIES, "acknowledged", None), respond_by)
        assert f"respond by {due} " in text

    def test_verified_response_request(self) -> None:
        text = acknowledgement(Decision(RequestType.KNOW_SPECIFIC, "acknowledged", None), RESPOND_BY)
        assert text.startswith("We received your know_specific request and verified your identity")
        assert "45 days" in text and "90" in text

    def test_downgraded_request_is_acknowledged_as_categories(self) -> None:
        decision = decide(RequestType.KNOW_SPECIFIC, result("insufficient", HIGH, REASONABLE, 2), False)
        assert "your know_categories request" in acknowledgement(decision, RESPOND_BY)

    @pytest.mark.parametrize("request_type", OPT_OUT_FAMILY)
    def test_opt_out_family_needs_no_verification(self, request_type: RequestType) -> None:
        text = acknowledgement(Decision(request_type, "received", None), RESPOND_BY)
        assert f"your {request_type.value} request" in text
        assert "needs no verification" in text
        assert "at the latest by 2026-12-18." in text
        assert "verified your identity" not in text

    def test_denial_states_the_basis_and_no_due_date(self) -> None:
        decision = Decision(RequestType.DELETE, "denied", Denial("not_verified", "the basis"))
        assert acknowledgement(decision, RESPOND_BY) == ("We received your request and cannot act on it: the basis.")
