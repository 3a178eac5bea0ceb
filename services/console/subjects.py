"""A person's identifier, as support staff type it, turned on arrival into the subject key intake gives them
(normalised, then HMAC'd with the shared subject-key secret): the value itself goes no further than this module
(never stored, logged or shown; a masked hint at most)."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.crypto import subject_key_of
from services.common.identity import IdentifierKind, InvalidIdentifier, identifier_kind, normalise

MAX_TYPED = 320  # longer than any identifier intake accepts (an e-mail address is at most 320 characters)
KINDS = {
    IdentifierKind.EMAIL: "E-mail address",
    IdentifierKind.PHONE: "Phone number",
    IdentifierKind.ACCOUNT_ID: "Account id",
    IdentifierKind.DEVICE_ID: "Device id",
}


@dataclass(frozen=True)
class Subject:
    kind: IdentifierKind
    subject_key: str
    hint: str  # enough for staff to tell they typed the one they meant; never the value

    @property
    def kind_words(self) -> str:
        return KINDS[self.kind]


def subject_of(secret: bytes, kind: str, typed: str) -> Subject:
    """The subject key of one identifier, as intake derives it from a request naming only that identifier."""
    resolved = identifier_kind(kind)
    if len(typed) > MAX_TYPED:
        raise InvalidIdentifier(resolved, f"must be at most {MAX_TYPED} characters")
    value = normalise(resolved, typed)
    return Subject(resolved, subject_key_of(secret, resolved, value), hint_of(resolved, value))


def hint_of(kind: IdentifierKind, value: str) -> str:
    """'j…@e…' for an e-mail address, '…67' for a phone number or an id of 6 characters or more, else '…'."""
    if kind is IdentifierKind.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}…@{domain[:1]}…"
    return f"…{value[-2:]}" if len(value) >= 6 else "…"


def problem_of(invalid: InvalidIdentifier) -> str:
    """The problem in words for the form: the kind and the rule broken (InvalidIdentifier never holds the value)."""
    try:
        named = KINDS[IdentifierKind(invalid.field)]
    except ValueError:
        return "Choose what kind of identifier this is from the list."
    reason = invalid.reason.replace("is not a syntactically valid email address", "is not a valid e-mail address")
    return f"The {named[:1].lower()}{named[1:]} {reason}."
