"""Unit tests of the privacy center's one-time codes, the proven-factor verification and the permission file check."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.common.identity import IdentifierKind
from services.common.request_types import RequestType
from services.intake.agent_permissions import PermissionFileRefused, media_type_of, reference_of
from services.intake.codes import (
    CODE_PATTERN,
    TOKEN_PATTERN,
    CodeCheck,
    CodeState,
    check_code,
    code_hash,
    new_code,
    new_token,
    token_hash,
)
from services.intake.verification import IdentityRecord, StaticIdentitySource, VerificationLevel, Verifier

SECRET = b"k" * 32
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EMAIL = IdentifierKind.EMAIL


def state(code: str, tries: int = 5, minutes: int = 15, pending_id: str = "p-1") -> CodeState:
    return CodeState(code_hash(SECRET, pending_id, code), NOW + timedelta(minutes=minutes), tries)


def test_a_code_is_six_random_digits_and_a_token_is_unguessable() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(re.match(CODE_PATTERN, code) for code in codes) and len(codes) > 150
    tokens = {new_token() for _ in range(50)}
    assert all(re.match(TOKEN_PATTERN, token) for token in tokens) and len(tokens) == 50


def test_only_keyed_hashes_are_kept_and_a_code_is_bound_to_its_pending_form() -> None:
    stored = code_hash(SECRET, "p-1", "123456")
    assert "123456" not in stored and len(stored) == 64
    assert code_hash(SECRET, "p-2", "123456") != stored and code_hash(b"x" * 32, "p-1", "123456") != stored
    assert token_hash(SECRET, "abc") != token_hash(SECRET, "abd")
    assert check_code(SECRET, "p-2", state("123456"), "123456", NOW) is CodeCheck.WRONG


def test_the_right_code_matches_and_a_wrong_one_spends_a_try_until_the_last() -> None:
    assert check_code(SECRET, "p-1", state("012345"), "012345", NOW) is CodeCheck.RIGHT
    assert check_code(SECRET, "p-1", state("012345"), " 012345 ", NOW) is CodeCheck.RIGHT
    assert check_code(SECRET, "p-1", state("012345", tries=2), "999999", NOW) is CodeCheck.WRONG
    assert check_code(SECRET, "p-1", state("012345", tries=1), "999999", NOW) is CodeCheck.VOID
    # No tries left: even the right code no longer works.
    assert check_code(SECRET, "p-1", state("012345", tries=0), "012345", NOW) is CodeCheck.VOID


def test_an_expired_code_never_matches() -> None:
    later = NOW + timedelta(minutes=15)
    assert check_code(SECRET, "p-1", state("012345"), "012345", later) is CodeCheck.EXPIRED
    assert check_code(SECRET, "p-1", state("012345"), "012345", later - timedelta(seconds=1)) is CodeCheck.RIGHT


ALICE = IdentityRecord({"email": "alice@example.com", "phone": "+14155550132", "name": "Alice Smith",
                        "postal_code": "94105", "date_of_birth": "1990-01-31"})  # fmt: skip


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(StaticIdentitySource([ALICE]))


def test_a_proven_email_counts_as_one_more_matched_data_point(verifier: Verifier) -> None:
    identifiers = {EMAIL: "alice@example.com"}
    points = {"name": "Alice Smith", "postal_code": "94105"}
    plain = verifier.verify(RequestType.KNOW_SPECIFIC, identifiers, points, True)
    proven = verifier.verify(RequestType.KNOW_SPECIFIC, identifiers, points, True, proven=frozenset({EMAIL}))
    assert (plain.matched_points, plain.achieved) == (3, VerificationLevel.REASONABLY_HIGH)
    assert (proven.matched_points, proven.outcome) == (4, "verified")
    fewer = verifier.verify(RequestType.KNOW_SPECIFIC, identifiers, {"name": "Alice Smith"}, True,
                            proven=frozenset({EMAIL}))  # fmt: skip
    assert (fewer.matched_points, fewer.achieved, fewer.outcome) == (3, VerificationLevel.REASONABLY_HIGH, "verified")
    unproven = verifier.verify(RequestType.KNOW_SPECIFIC, identifiers, {"name": "Alice Smith"}, True)
    assert unproven.outcome == "insufficient"


def test_a_proven_identifier_that_does_not_match_the_record_counts_for_nothing(verifier: Verifier) -> None:
    identifiers = {EMAIL: "alice@example.com", IdentifierKind.PHONE: "+14155550199"}
    result = verifier.verify(RequestType.DELETE, identifiers, {}, False, proven=frozenset({IdentifierKind.PHONE}))
    assert result.matched_points == 1 and result.outcome == "insufficient"
    not_given = verifier.verify(RequestType.DELETE, {EMAIL: "alice@example.com"}, {}, False,
                                proven=frozenset({IdentifierKind.PHONE}))  # fmt: skip
    assert not_given.matched_points == 1


def test_a_proven_factor_never_verifies_the_opt_out_family(verifier: Verifier) -> None:
    result = verifier.verify(RequestType.OPT_OUT, {EMAIL: "alice@example.com"}, {}, False, proven=frozenset({EMAIL}))
    assert result.outcome == "not_required"


FILES = [(b"%PDF-1.7\n...", "application/pdf"), (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
         (b"\xff\xd8\xff\xe0JFIF", "image/jpeg")]  # fmt: skip


@pytest.mark.parametrize(("content", "media_type"), FILES)
def test_a_permission_file_is_told_by_its_first_bytes(content: bytes, media_type: str) -> None:
    assert media_type_of(content) == media_type


@pytest.mark.parametrize("content", [b"", b"GIF89a....", b"<html><script>", b"PK\x03\x04zip", b" %PDF-1.7"])
def test_other_files_are_refused_without_quoting_them(content: bytes) -> None:
    with pytest.raises(PermissionFileRefused) as refused:
        media_type_of(content)
    assert "PDF, PNG or JPEG" in str(refused.value)
    assert not content or content.decode(errors="replace")[:4] not in str(refused.value)


def test_the_permission_reference_names_the_stored_file_only() -> None:
    assert reference_of("0b5e") == "agent-permission:0b5e"
