"""Unit tests of the §7060-7062 verifier with the in-memory identity source (SQL source: test_identity_source.py)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

import pytest

from services.common.identity import IdentifierKind, InvalidIdentifier
from services.common.request_types import RequestType
from services.intake.verification import (
    IdentityRecord,
    IdentitySource,
    StaticIdentitySource,
    VerificationLevel,
    VerificationResult,
    Verifier,
    required_level,
)

EMAIL = IdentifierKind.EMAIL
PHONE = IdentifierKind.PHONE
ACCOUNT = IdentifierKind.ACCOUNT_ID
DEVICE = IdentifierKind.DEVICE_ID

ALICE = IdentityRecord(
    {
        "email": " Alice@Example.COM ",
        "phone": "(415) 555-0132",
        "device_id": "shared-tablet",
        "name": "Alice  Smith",
        "postal_code": "94105",
        "date_of_birth": "1990-01-31",
    }
)
BOB = IdentityRecord(
    {"email": "bob@example.com", "device_id": "shared-tablet", "name": "Bob Jones", "postal_code": "10001"}
)
ALICE_PI = ["alice", "Alice", "94105", "1990-01-31", "555", "Smith"]


class ExplodingSource:
    """A source the verifier must not consult."""

    def find(self, identifiers: Mapping[IdentifierKind, str]) -> IdentityRecord | None:
        raise AssertionError("the identity source must not be consulted")


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(StaticIdentitySource([ALICE, BOB]))


def verdict(result: VerificationResult) -> tuple[str, VerificationLevel, int]:
    """What a verification concluded: its outcome, the level achieved and how many points matched."""
    return (result.outcome, result.achieved, result.matched_points)


def assert_no_pi(result: VerificationResult) -> None:
    for value in ALICE_PI:
        assert value not in result.reason


# --- required levels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "level"),
    [
        (RequestType.OPT_OUT, VerificationLevel.NONE),
        (RequestType.LIMIT, VerificationLevel.NONE),
        (RequestType.OPT_IN, VerificationLevel.NONE),
        (RequestType.KNOW_CATEGORIES, VerificationLevel.REASONABLE),
        (RequestType.KNOW_SPECIFIC, VerificationLevel.REASONABLY_HIGH),
        (RequestType.DELETE, VerificationLevel.REASONABLE),
        (RequestType.CORRECT, VerificationLevel.REASONABLE),
    ],
)
def test_required_level_defaults(request_type: RequestType, level: VerificationLevel) -> None:
    assert required_level(request_type) is level
    assert Verifier(ExplodingSource()).required_level(request_type) is level


@pytest.mark.parametrize("request_type", [RequestType.DELETE, RequestType.CORRECT])
def test_delete_and_correct_may_be_raised_to_reasonably_high(request_type: RequestType) -> None:
    strict = Verifier(ExplodingSource(), overrides={request_type: VerificationLevel.REASONABLY_HIGH})
    assert strict.required_level(request_type) is VerificationLevel.REASONABLY_HIGH
    assert strict.required_level(RequestType.KNOW_CATEGORIES) is VerificationLevel.REASONABLE


def test_overrides_from_config_strings_are_accepted() -> None:
    strict = Verifier(ExplodingSource(), overrides={"delete": "reasonably_high"})  # type: ignore[dict-item]
    assert strict.required_level(RequestType.DELETE) is VerificationLevel.REASONABLY_HIGH


@pytest.mark.parametrize(
    ("request_type", "level"),
    [
        (RequestType.OPT_OUT, VerificationLevel.REASONABLE),  # §7060(b): never verify an opt-out
        (RequestType.LIMIT, VerificationLevel.REASONABLY_HIGH),
        (RequestType.KNOW_SPECIFIC, VerificationLevel.REASONABLE),  # may not be lowered
        (RequestType.KNOW_CATEGORIES, VerificationLevel.REASONABLY_HIGH),
        (RequestType.DELETE, VerificationLevel.NONE),
    ],
)
def test_other_overrides_are_refused(request_type: RequestType, level: VerificationLevel) -> None:
    with pytest.raises(ValueError, match="only delete and correct may be overridden"):
        Verifier(ExplodingSource(), overrides={request_type: level})


# --- opt-out family ------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", [RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN])
def test_opt_out_family_is_never_verified_even_without_a_record(request_type: RequestType) -> None:
    result = Verifier(ExplodingSource()).verify(request_type, {}, {}, signed_declaration=False)
    assert result == VerificationResult(
        required=VerificationLevel.NONE,
        achieved=VerificationLevel.NONE,
        matched_points=0,
        outcome="not_required",
        reason=result.reason,
    )
    assert "§7060(b)" in result.reason


def test_opt_out_for_an_unknown_consumer_is_not_required(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.OPT_OUT, {EMAIL: "nobody@example.com"}, {}, signed_declaration=False)
    assert result.outcome == "not_required"


# --- reasonable ----------------------------------------------------------------------------------------


def test_know_categories_with_two_matching_points_is_verified(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_CATEGORIES, {EMAIL: "alice@example.com"}, {"name": " alice SMITH "}, False
    )
    assert verdict(result) == ("verified", VerificationLevel.REASONABLE, 2)
    assert_no_pi(result)


def test_identifiers_alone_count_as_data_points(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.DELETE, {EMAIL: "alice@example.com", PHONE: "+14155550132"}, {}, False)
    assert (result.outcome, result.matched_points) == ("verified", 2)


def test_identifiers_are_normalised_before_matching(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.DELETE, {EMAIL: " ALICE@example.com", PHONE: "415-555-0132"}, {}, False)
    assert result.matched_points == 2


def test_one_matching_point_is_insufficient(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.KNOW_CATEGORIES, {EMAIL: "alice@example.com"}, {}, False)
    assert verdict(result) == ("insufficient", VerificationLevel.NONE, 1)
    assert "reasonable needs at least 2" in result.reason
    assert_no_pi(result)


def test_mismatching_points_do_not_count(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.CORRECT,
        {EMAIL: "alice@example.com", PHONE: "+14155552671"},
        {"name": "Alicia Smith", "postal_code": "94106", "date_of_birth": "1990-01-30"},
        signed_declaration=True,
    )
    assert (result.outcome, result.matched_points) == ("insufficient", 1)


def test_points_the_record_does_not_hold_do_not_count(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.DELETE,
        {EMAIL: "alice@example.com"},
        {"last4_card": "4242", "mother_maiden_name": "X"},
        False,
    )
    assert result.matched_points == 1


def test_empty_values_never_match() -> None:
    source = StaticIdentitySource([IdentityRecord({"email": "carol@example.com", "nickname": " "})])
    result = Verifier(source).verify(RequestType.DELETE, {EMAIL: "carol@example.com"}, {"nickname": ""}, False)
    assert result.matched_points == 1


def test_an_identifier_also_sent_as_a_data_point_counts_once(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, {"email": "alice@example.com"}, False)
    assert result.matched_points == 1


def test_a_phone_sent_as_a_data_point_is_normalised(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, {"phone": "(415) 555-0132"}, False)
    assert result.matched_points == 2


def test_an_invalid_identifier_is_rejected_without_pi(verifier: Verifier) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        verifier.verify(RequestType.DELETE, {EMAIL: "alice@@example.com"}, {}, False)
    assert "alice" not in str(caught.value)


# --- reasonably high -----------------------------------------------------------------------------------


def test_know_specific_with_three_points_and_a_declaration_is_verified(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_SPECIFIC,
        {EMAIL: "alice@example.com"},
        {"name": "Alice Smith", "postal_code": "94105"},
        signed_declaration=True,
    )
    assert verdict(result) == ("verified", VerificationLevel.REASONABLY_HIGH, 3)


def test_know_specific_without_the_declaration_is_insufficient(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_SPECIFIC,
        {EMAIL: "alice@example.com", PHONE: "+14155550132"},
        {"name": "Alice Smith", "postal_code": "94105"},
        signed_declaration=False,
    )
    # Reasonable is still achieved: the caller may serve the request as know_categories (§7024(a)).
    assert verdict(result) == ("insufficient", VerificationLevel.REASONABLE, 4)
    assert "declaration under penalty of perjury is missing" in result.reason
    assert_no_pi(result)


def test_know_specific_with_two_points_and_a_declaration_is_insufficient(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_SPECIFIC,
        {EMAIL: "alice@example.com"},
        {"name": "Alice Smith"},
        signed_declaration=True,
    )
    assert verdict(result) == ("insufficient", VerificationLevel.REASONABLE, 2)
    assert "reasonably_high needs at least 3 and a signed declaration" in result.reason


def test_achieved_is_the_highest_level_even_when_less_is_required(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_CATEGORIES,
        {EMAIL: "alice@example.com"},
        {"name": "Alice Smith", "date_of_birth": "1990-01-31"},
        signed_declaration=True,
    )
    assert (result.outcome, result.achieved) == ("verified", VerificationLevel.REASONABLY_HIGH)


def test_delete_override_requires_reasonably_high() -> None:
    strict = Verifier(StaticIdentitySource([ALICE]), overrides={RequestType.DELETE: VerificationLevel.REASONABLY_HIGH})
    points = {"name": "Alice Smith"}
    assert strict.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, points, True).outcome == "insufficient"
    points["postal_code"] = "94105"
    assert strict.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, points, True).outcome == "verified"


# --- no match and the in-memory source -----------------------------------------------------------------


def test_unknown_consumer_is_no_match(verifier: Verifier) -> None:
    result = verifier.verify(
        RequestType.KNOW_CATEGORIES, {EMAIL: "mallory@example.com"}, {"name": "Alice Smith"}, False
    )
    assert verdict(result) == ("no_match", VerificationLevel.NONE, 0)
    assert "mallory" not in result.reason


def test_no_identifiers_is_no_match(verifier: Verifier) -> None:
    assert verifier.verify(RequestType.DELETE, {}, {"name": "Alice Smith"}, False).outcome == "no_match"


def test_an_identifier_shared_by_two_records_identifies_nobody() -> None:
    source = StaticIdentitySource([ALICE, BOB])
    assert source.find({DEVICE: "shared-tablet"}) is None
    assert source.find({DEVICE: "shared-tablet", EMAIL: "bob@example.com"}) is BOB


def test_the_source_prefers_email_over_phone() -> None:
    source = StaticIdentitySource([ALICE, BOB])
    assert source.find({PHONE: "+14155550132", EMAIL: "bob@example.com"}) is BOB


def test_comparisons_use_constant_time(verifier: Verifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verifier.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, {"name": "Alice Smith"}, False)
    assert sorted(calls) == [(b"alice smith", b"alice smith"), (b"alice@example.com", b"alice@example.com")]


def test_static_source_satisfies_the_protocol() -> None:
    source: IdentitySource = StaticIdentitySource([])
    assert source.find({EMAIL: "a@example.com"}) is None
