"""The evidence intake puts on RequestSubmitted for the §7101 record: the declaration (given, when, which text)
and an agent's name and reference, one printable line each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.intake.api_models import AuthorizedAgent, Verification
from services.intake.declaration import DECLARATION_TEXT_VERSION, declaration_evidence

RECEIVED = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_a_declaration_without_a_stated_time_is_dated_when_it_was_received() -> None:
    evidence = declaration_evidence(Verification(signed_declaration=True), RECEIVED)
    assert (evidence.signed, evidence.signed_at, evidence.text_version) == (True, RECEIVED, DECLARATION_TEXT_VERSION)


def test_a_stated_signing_time_is_kept() -> None:
    signed_at = RECEIVED - timedelta(days=1)
    evidence = declaration_evidence(Verification(signed_declaration=True, declaration_signed_at=signed_at), RECEIVED)
    assert evidence.signed_at == signed_at


def test_no_declaration_has_no_time_and_no_version() -> None:
    evidence = declaration_evidence(Verification(), RECEIVED)
    assert (evidence.signed, evidence.signed_at, evidence.text_version) == (False, None, None)


@pytest.mark.parametrize(
    "verification",
    [
        {"signed_declaration": True, "declaration_signed_at": datetime.now(UTC) + timedelta(days=2)},
        {"signed_declaration": False, "declaration_signed_at": RECEIVED},
        {"signed_declaration": True, "declaration_signed_at": "2026-03-02T10:00:00"},  # no offset
    ],
)
def test_a_signing_time_that_cannot_be_evidence_is_refused(verification: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="declaration_signed_at"):
        Verification.model_validate(verification)


def test_an_agent_name_is_one_bounded_printable_line() -> None:
    agent = AuthorizedAgent(name="Agents LLC", signed_permission=True, permission_reference="perm/7")
    assert agent.name == "Agents LLC"
    for name in ("two\nlines", "x" * 201, ""):
        with pytest.raises(ValidationError, match="name"):
            AuthorizedAgent(name=name, signed_permission=True)
