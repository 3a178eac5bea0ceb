"""Normalisation of consumer identifiers (email, phone, account and device ids) to one canonical form.
Raw identifiers are personal information: errors name the field and the rule broken, never the value."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_PHONE_REGION = "US"
MAX_OPAQUE_ID_LENGTH = 200
# Cc = control characters; Cf = invisible format characters (zero-width, bidi) that make look-alike ids.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf"})
# A key that could itself be PI (e.g. an email sent as a key) must not be echoed in an error.
_ECHOABLE_KEY = re.compile(r"[A-Za-z_]{1,40}")


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_ID = "account_id"
    DEVICE_ID = "device_id"


IDENTIFIER_PRIORITY: tuple[IdentifierKind, ...] = (
    IdentifierKind.EMAIL,
    IdentifierKind.ACCOUNT_ID,
    IdentifierKind.PHONE,
    IdentifierKind.DEVICE_ID,
)


class InvalidIdentifier(ValueError):
    """An identifier failed validation; carries the field and the reason, never the raw value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid identifier {field}: {reason}")
        self.field = str(field)
        self.reason = reason


def identifier_kind(key: str) -> IdentifierKind:
    """The IdentifierKind named by key, or InvalidIdentifier for an unknown kind."""
    try:
        return IdentifierKind(key)
    except ValueError:
        shown = key if _ECHOABLE_KEY.fullmatch(key) else "<unrecognised key>"
        expected = ", ".join(kind.value for kind in IdentifierKind)
        raise InvalidIdentifier(shown, f"unknown identifier kind; expected one of {expected}") from None


def normalise(kind: IdentifierKind | str, raw: str) -> str:
    """The canonical form of raw: lower-case email, E.164 phone, trimmed account/device id."""
    resolved = identifier_kind(kind)
    if resolved is IdentifierKind.EMAIL:
        return _normalise_email(raw)
    if resolved is IdentifierKind.PHONE:
        return _normalise_phone(raw)
    return _normalise_opaque_id(resolved, raw)


def normalise_all(identifiers: Mapping[str, str]) -> dict[IdentifierKind, str]:
    """Every identifier normalised and keyed by kind; rejects an empty mapping and unknown kinds."""
    if not identifiers:
        raise InvalidIdentifier("identifiers", "at least one identifier is required")
    return {identifier_kind(key): normalise(key, raw) for key, raw in identifiers.items()}


def primary_identifier(normalised: Mapping[IdentifierKind, str]) -> tuple[IdentifierKind, str]:
    """The identifier the subject key is derived from: email > account_id > phone > device_id."""
    for kind in IDENTIFIER_PRIORITY:
        if kind in normalised:
            return kind, normalised[kind]
    raise InvalidIdentifier("identifiers", "at least one identifier is required")


def _normalise_email(raw: str) -> str:
    candidate = raw.strip()
    if not candidate:
        raise InvalidIdentifier(IdentifierKind.EMAIL, "must not be empty")
    try:
        validated = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        # The library's message may quote parts of the address, so it is neither kept nor chained.
        raise InvalidIdentifier(IdentifierKind.EMAIL, "is not a syntactically valid email address") from None
    return validated.normalized.lower()


def _normalise_phone(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier(IdentifierKind.PHONE, "is not a parseable phone number") from None
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        raise InvalidIdentifier(IdentifierKind.PHONE, "is not a possible and valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalise_opaque_id(kind: IdentifierKind, raw: str) -> str:
    candidate = raw.strip()
    if not candidate:
        raise InvalidIdentifier(kind, "must not be empty")
    if len(candidate) > MAX_OPAQUE_ID_LENGTH:
        raise InvalidIdentifier(kind, f"must be at most {MAX_OPAQUE_ID_LENGTH} characters")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in candidate):
        raise InvalidIdentifier(kind, "must not contain control or invisible format characters")
    return candidate
