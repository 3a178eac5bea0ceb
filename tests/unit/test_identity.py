"""Unit tests of identifier normalisation, including that no raw identifier ever reaches an error message."""

from __future__ import annotations

import pytest

from services.common.identity import (
    MAX_OPAQUE_ID_LENGTH,
    IdentifierKind,
    InvalidIdentifier,
    normalise,
    normalise_all,
    primary_identifier,
)

# --- email ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Alice@Example.COM ", "alice@example.com"),
        ("alice@example.com", "alice@example.com"),
        ("\tBOB.Smith+ccpa@Mail.Example.org\n", "bob.smith+ccpa@mail.example.org"),
    ],
)
def test_email_is_trimmed_lower_cased_and_validated(raw: str, expected: str) -> None:
    assert normalise(IdentifierKind.EMAIL, raw) == expected


def test_email_normalisation_is_idempotent() -> None:
    once = normalise(IdentifierKind.EMAIL, " Alice@Example.COM ")
    assert normalise(IdentifierKind.EMAIL, once) == once


@pytest.mark.parametrize(
    "raw",
    [
        "alice.example.com",
        "alice@",
        "@example.com",
        "alice@@example.com",
        "alice@localhost",
        "alice @example.com",
    ],
)
def test_invalid_email_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise(IdentifierKind.EMAIL, raw)
    assert caught.value.field == "email"
    assert caught.value.reason == "is not a syntactically valid email address"


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_email_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="must not be empty"):
        normalise(IdentifierKind.EMAIL, raw)


def test_email_error_does_not_chain_the_library_message() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise(IdentifierKind.EMAIL, "secret.person@@example.com")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# --- phone ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(415) 555-0132", "+14155550132"),
        ("415.555.2671", "+14155552671"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("  1-212-555-0100 ", "+12125550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+14155550132", "+14155550132"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalise(IdentifierKind.PHONE, raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            "(415) 123-4567",
            "is not a possible and valid phone number",
        ),  # area code exists, exchange 123 cannot
        ("12345", "is not a possible and valid phone number"),
        ("+1 415 555 01", "is not a possible and valid phone number"),
        ("call me maybe", "is not a parseable phone number"),
        ("", "is not a parseable phone number"),
    ],
)
def test_invalid_phone_is_rejected(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise(IdentifierKind.PHONE, raw)
    assert (caught.value.field, caught.value.reason) == ("phone", reason)


# --- account and device ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [IdentifierKind.ACCOUNT_ID, IdentifierKind.DEVICE_ID])
def test_opaque_ids_are_trimmed_but_keep_their_case(kind: IdentifierKind) -> None:
    assert normalise(kind, "  Acct-0042-XyZ \n") == "Acct-0042-XyZ"


@pytest.mark.parametrize("kind", [IdentifierKind.ACCOUNT_ID, IdentifierKind.DEVICE_ID])
def test_opaque_id_at_the_length_limit_is_accepted(kind: IdentifierKind) -> None:
    assert normalise(kind, "a" * MAX_OPAQUE_ID_LENGTH) == "a" * MAX_OPAQUE_ID_LENGTH


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "must not be empty"),
        (" \t ", "must not be empty"),
        ("a" * (MAX_OPAQUE_ID_LENGTH + 1), "must be at most 200 characters"),
        ("acct\x00042", "must not contain control or invisible format characters"),
        ("acct\n042", "must not contain control or invisible format characters"),
        ("acct\u200b042", "must not contain control or invisible format characters"),  # zero-width space
        (
            "acct\u202e042",
            "must not contain control or invisible format characters",
        ),  # right-to-left override
    ],
)
@pytest.mark.parametrize("kind", [IdentifierKind.ACCOUNT_ID, IdentifierKind.DEVICE_ID])
def test_invalid_opaque_id_is_rejected(kind: IdentifierKind, raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise(kind, raw)
    assert (caught.value.field, caught.value.reason) == (kind.value, reason)


# --- kinds ---------------------------------------------------------------------------------------------


def test_kind_may_be_given_as_its_string_value() -> None:
    assert normalise("email", "A@Example.com") == "a@example.com"


def test_unknown_kind_is_rejected_with_the_expected_kinds() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise("ssn", "123-45-6789")
    assert caught.value.field == "ssn"
    assert "expected one of email, phone, account_id, device_id" in caught.value.reason
    assert "123-45-6789" not in str(caught.value)


def test_unknown_kind_that_looks_like_pi_is_not_echoed() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_all({"alice@example.com": "x"})
    assert caught.value.field == "<unrecognised key>"
    assert "alice" not in str(caught.value)


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


# --- normalise_all and primary_identifier --------------------------------------------------------------


def test_normalise_all_normalises_every_identifier() -> None:
    result = normalise_all(
        {"email": " Alice@Example.COM ", "phone": "(415) 555-0132", "account_id": " A-1 ", "device_id": "d-9"}
    )
    assert result == {
        IdentifierKind.EMAIL: "alice@example.com",
        IdentifierKind.PHONE: "+14155550132",
        IdentifierKind.ACCOUNT_ID: "A-1",
        IdentifierKind.DEVICE_ID: "d-9",
    }
    assert all(isinstance(kind, IdentifierKind) for kind in result)


def test_normalise_all_rejects_an_empty_mapping() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_all({})
    assert caught.value.field == "identifiers"


def test_normalise_all_rejects_unknown_kinds() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_all({"email": "a@example.com", "passport": "X1234567"})
    assert caught.value.field == "passport"


def test_normalise_all_names_the_bad_field() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_all({"email": "a@example.com", "phone": "not a phone"})
    assert caught.value.field == "phone"


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (
            [IdentifierKind.EMAIL, IdentifierKind.ACCOUNT_ID, IdentifierKind.PHONE, IdentifierKind.DEVICE_ID],
            "email",
        ),
        ([IdentifierKind.DEVICE_ID, IdentifierKind.PHONE, IdentifierKind.ACCOUNT_ID], "account_id"),
        ([IdentifierKind.DEVICE_ID, IdentifierKind.PHONE], "phone"),
        ([IdentifierKind.DEVICE_ID], "device_id"),
    ],
)
def test_primary_identifier_priority(present: list[IdentifierKind], expected: str) -> None:
    normalised = {kind: f"value-of-{kind.value}" for kind in present}
    assert primary_identifier(normalised) == (IdentifierKind(expected), f"value-of-{expected}")


def test_primary_identifier_of_nothing_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier):
        primary_identifier({})


# --- no PI in errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (IdentifierKind.EMAIL, "jane.doe.secret@@example.com"),
        (IdentifierKind.EMAIL, "jane.doe.secret@exa mple.com"),
        (IdentifierKind.EMAIL, "jane.doe.secret@localhost"),
        (IdentifierKind.PHONE, "(415) 123-4567"),
        (IdentifierKind.PHONE, "+1 415 555 01"),
        (IdentifierKind.PHONE, "jane-doe-phone"),
        (IdentifierKind.ACCOUNT_ID, "jane\x00doe-account"),
        (IdentifierKind.DEVICE_ID, "jane-doe-device-" + "x" * 300),
    ],
)
def test_raw_value_never_appears_in_the_exception(kind: IdentifierKind, raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalise(kind, raw)
    rendered = f"{caught.value} {caught.value!r} {caught.value.reason} {caught.value.field}"
    assert raw not in rendered
    assert raw.strip() not in rendered
    assert "jane" not in rendered
    assert "4567" not in rendered
