"""The request forms' fields, read into a SubmitRequest or into messages per field in plain words (never quoting
what was typed: the page shows it back only inside the consumer's own form)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from services.common.identity import IdentifierKind, InvalidIdentifier, normalise
from services.common.request_types import RequestType
from services.common.subject_types import SUBJECT_TYPE_LABELS, SubjectType
from services.intake.api_models import (
    EARLIEST_KNOW_DATE,
    AuthorizedAgent,
    Channel,
    DateRange,
    Identifiers,
    SubmitRequest,
    Verification,
)

FORM_TYPES = (RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC, RequestType.DELETE, RequestType.CORRECT)
AGENT_TYPES = tuple(RequestType)
CODE_FREE = frozenset({RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN})  # §7060(b): never verified
CORRECTION_ROWS = 3  # shown without JavaScript; htmx adds more, up to MAX_CORRECTION_ROWS
MAX_CORRECTION_ROWS = 10
# What a consumer can ask us to correct: the data points our records hold, in words (api field -> label).
CORRECTABLE: dict[str, str] = {
    "full_name": "Name",
    "email": "E-mail address",
    "phone": "Phone number",
    "postal_code": "ZIP code",
    "date_of_birth": "Date of birth",
}
# "Which describes you?": whose records we verify against and search (services/common/subject_types.py).
SUBJECT_CHOICES: dict[str, str] = {kind.value: text[0].upper() + text[1:] for kind, text in SUBJECT_TYPE_LABELS.items()}
TEXT_LIMIT = 200
VALUE_LIMIT = 1000
ZIP = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*$")
US_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
# An agent reads about the consumer, not about themself.
AGENT_TYPE_NAMES: dict[str, str] = {
    RequestType.KNOW_CATEGORIES: "Ask what personal information we collect about the consumer",
    RequestType.KNOW_SPECIFIC: "Ask for a copy of the consumer's personal information",
    RequestType.DELETE: "Ask us to delete the consumer's personal information",
    RequestType.CORRECT: "Ask us to correct the consumer's personal information",
    RequestType.OPT_OUT: "Opt the consumer out of the sale and sharing of their personal information",
    RequestType.LIMIT: "Limit the use of the consumer's sensitive personal information",
    RequestType.OPT_IN: "Opt the consumer back in to the sale and sharing of their personal information",
}


@dataclass
class FormResult:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)  # field id -> message
    body: SubmitRequest | None = None


def read_form(
    request_type: RequestType, form: Mapping[str, str], agent: bool = False, permission_reference: str | None = None
) -> FormResult:
    """The form's submission when every field is right; else what is wrong with each field."""
    values = {key: str(value).strip() for key, value in form.items() if key != "csrftoken"}
    result = FormResult(values)
    errors = result.errors
    email = _email(values.get("email", ""), errors)
    phone = _phone(values.get("phone", ""), errors)
    points = _data_points(values, errors)
    declaration = _declaration(request_type, values, errors)
    date_range = _date_range(request_type, values, errors)
    corrections = _corrections(request_type, values, errors)
    agent_record = _agent(values, errors, permission_reference) if agent else None
    subject_type = _subject_type(values, errors)
    if errors or email is None:
        return result
    identifiers = {"email": email} | ({"phone": phone} if phone else {})
    try:
        result.body = SubmitRequest(
            type=request_type,
            identifiers=Identifiers(**identifiers),
            channel=Channel.AGENT_PORTAL if agent else Channel.WEB_FORM,
            verification=Verification(data_points=points, signed_declaration=declaration),
            date_range=date_range,
            corrections=corrections or None,
            authorized_agent=agent_record,
            subject_type=subject_type,
        )
    except ValidationError:
        errors["email"] = "We could not read this form. Please check each answer and send it again."
    return result


def _subject_type(values: Mapping[str, str], errors: dict[str, str]) -> SubjectType:
    """The answer to "Which describes you?"; unanswered (a form without the question) is a customer's."""
    chosen = values.get("subject_type") or SubjectType.CONSUMER.value
    if chosen not in SUBJECT_CHOICES:
        errors["subject_type"] = "Choose which of these describes you."
        return SubjectType.CONSUMER
    return SubjectType(chosen)


def correction_rows(values: Mapping[str, str]) -> int:
    """How many correction rows to show again: those filled in, at least CORRECTION_ROWS."""
    filled = [
        n for n in range(MAX_CORRECTION_ROWS) if values.get(f"correct_field_{n}") or values.get(f"correct_value_{n}")
    ]
    return min(MAX_CORRECTION_ROWS, max(CORRECTION_ROWS, (max(filled) + 1) if filled else 0))


def _email(raw: str, errors: dict[str, str]) -> str | None:
    if not raw:
        errors["email"] = "Enter your e-mail address: we send a code to it to check it is yours."
        return None
    try:
        return normalise(IdentifierKind.EMAIL, raw)
    except InvalidIdentifier:
        errors["email"] = "Enter an e-mail address in the form name@example.com."
        return None


def _phone(raw: str, errors: dict[str, str]) -> str | None:
    if not raw:
        return None
    try:
        return normalise(IdentifierKind.PHONE, raw)
    except InvalidIdentifier:
        errors["phone"] = "Enter a phone number with its area code, for example 415 555 0100, or leave it empty."
        return None


def _data_points(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, str]:
    points: dict[str, str] = {}
    if name := values.get("name", ""):
        if len(name) > TEXT_LIMIT or not ONE_LINE.match(name):
            errors["name"] = f"Enter your name on one line, in at most {TEXT_LIMIT} characters."
        else:
            points["name"] = name
    if postal := values.get("postal_code", ""):
        if ZIP.match(postal):
            points["postal_code"] = postal[:5]
        else:
            errors["postal_code"] = "Enter a ZIP code of 5 digits, for example 94103."
    if born := values.get("date_of_birth", ""):
        day = _date(born)
        if day is None or not date(1900, 1, 1) <= day < date.today():
            errors["date_of_birth"] = "Enter your date of birth as a real date in the past, for example 04/23/1980."
        else:
            points["date_of_birth"] = day.isoformat()
    return points


def _declaration(request_type: RequestType, values: Mapping[str, str], errors: dict[str, str]) -> bool:
    signed = values.get("declaration") == "signed"
    if request_type is RequestType.KNOW_SPECIFIC and not signed:
        errors["declaration"] = "Tick the box to sign the declaration: we need it to send a copy of your information."
    return signed


def _date_range(request_type: RequestType, values: Mapping[str, str], errors: dict[str, str]) -> DateRange | None:
    if request_type not in (RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC):
        return None
    start_text, end_text = values.get("date_start", ""), values.get("date_end", "")
    start = _date(start_text) if start_text else EARLIEST_KNOW_DATE
    end = _date(end_text) if end_text else None
    if start is None or start < EARLIEST_KNOW_DATE:
        errors["date_start"] = "Enter a start date on or after January 1, 2022, or leave it empty."
    if end_text and (end is None or (start is not None and end < start)):
        errors["date_end"] = "Enter an end date on or after the start date, or leave it empty."
    if "date_start" in errors or "date_end" in errors or not (start_text or end_text):
        return None
    assert start is not None
    return DateRange(start=start, end=end)


def _corrections(request_type: RequestType, values: Mapping[str, str], errors: dict[str, str]) -> dict[str, str]:
    if request_type is not RequestType.CORRECT:
        return {}
    corrections: dict[str, str] = {}
    for n in range(MAX_CORRECTION_ROWS):
        chosen, value = values.get(f"correct_field_{n}", ""), values.get(f"correct_value_{n}", "")
        if not chosen and not value:
            continue
        if chosen not in CORRECTABLE:
            errors[f"correct_field_{n}"] = "Choose which information is wrong."
        elif chosen in corrections:
            errors[f"correct_field_{n}"] = "This information is already in another row: give it once."
        if not value or len(value) > VALUE_LIMIT:
            errors[f"correct_value_{n}"] = f"Enter what it should be, in at most {VALUE_LIMIT} characters."
        if chosen in CORRECTABLE and value and f"correct_field_{n}" not in errors:
            corrections[chosen] = value
    if not corrections and not any(key.startswith("correct_") for key in errors):
        errors["correct_field_0"] = "Tell us at least one thing to correct: what is wrong and what it should be."
    return corrections


def _agent(values: Mapping[str, str], errors: dict[str, str], reference: str | None) -> AuthorizedAgent | None:
    name = values.get("agent_name", "")
    if not name or len(name) > TEXT_LIMIT or not ONE_LINE.match(name):
        errors["agent_name"] = f"Enter your (or your organisation's) name on one line, at most {TEXT_LIMIT} characters."
    if reference is None and "permission" not in errors:
        errors["permission"] = "Attach the consumer's signed permission as a PDF, PNG or JPEG file."
    if "agent_name" in errors or reference is None:
        return None
    return AuthorizedAgent(name=name, signed_permission=True, permission_reference=reference)


def _date(text: str) -> date | None:
    """A date as a browser's date field sends it (2026-04-23) or as typed where there is none (04/23/2026)."""
    if found := US_DATE.match(text):
        month, day, year = (int(part) for part in found.groups())
        text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
