"""Name heuristics: what a column, hash field or log key name says it holds (`billing_email`, `dob`, `client_ip`).

A strong hint plus one matching value is enough to flag a field; for kinds no value format reveals (names,
passports, passwords, device ids) a strong hint on a field with values is a low-confidence finding of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.discovery.scanner.detectors import Cue, Kind

CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
SEPARATORS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class NameHint:
    kind: Kind | None = None  # what the name says the field holds
    strong: bool = False
    cue: Cue | None = None  # lets the detectors accept values that are ambiguous alone

    @property
    def silent(self) -> bool:
        return self.kind is None and self.cue is None


def _rule(
    pattern: str, kind: Kind | None, strong: bool = True, cue: Cue | None = None
) -> tuple[re.Pattern[str], NameHint]:
    return re.compile(rf"(?:^|_)(?:{pattern})$"), NameHint(kind, strong, cue)


# First match wins, so the specific names (email_address, mac_address) come before the general ones (address).
RULES = (
    _rule(
        r"(?:app_|sdk_|os_|client_|api_|schema_)?(?:version|ver|semver|release|build|firmware)(?:_\w+)?",
        None,
        cue=Cue.VERSION,
    ),
    _rule(r"e_?mails?(?:_address|_addr)?", Kind.EMAIL),
    _rule(r"ip|ips|ip_?addr(?:ess)?|ipv[46](?:_addr(?:ess)?)?|remote_addr(?:ess)?|(?:x_)?forwarded_for", Kind.IP),
    _rule(
        r"device_(?:id|uuid|identifier|token)|idfa|idfv|gaid|adid|aaid|advertising_id|android_id|udid"
        r"|mac_?addr(?:ess)?|imei|device_fingerprint|browser_fingerprint",
        Kind.DEVICE_ID,
    ),
    _rule(r"cookie(?:_id|_value)?|visitor_id|anonymous_id|anon_id|ga_?cid|ga_client_id", Kind.COOKIE_ID),
    _rule(
        r"password(?:_hash|_digest)?|passwd|pwd|pass_?hash|hashed_password|encrypted_password|(?:totp|otp|mfa)_secret",
        Kind.PASSWORD,
    ),
    _rule(r"(?:security|secret)_(?:answer|question)s?(?:_\d)?|mothers_maiden_name", Kind.SECURITY_ANSWER),
    _rule(r"passport(?:_no|_num|_number|_id)?", Kind.PASSPORT),
    _rule(
        r"drivers?_?licen[cs]e(?:_no|_num|_number|_id)?|dl_(?:no|num|number)|licen[cs]e_(?:no|num|number)",
        Kind.DRIVERS_LICENSE,
    ),
    _rule(r"ssn|ssn_?\d?|social_security(?:_no|_num|_number)?|tax_?id|taxpayer_id|tin|itin", Kind.SSN, cue=Cue.SSN),
    _rule(r"(?:credit_|debit_)?card(?:_no|_num|_number|_pan)?|cc(?:_no|_num|_number)?|pan", Kind.CARD),
    _rule(r"iban|bank_account(?:_no|_num|_number)?|account_number", Kind.IBAN),
    _rule(
        r"(?:tele)?phone(?:_no|_num|_number)?|tel|mobile(?:_no|_number)?|cell(?:_phone)?|msisdn|fax|sms(?:_number)?",
        Kind.PHONE,
        cue=Cue.PHONE,
    ),
    _rule(r"dob|birth|birthday|birth_?date|date_of_birth|born(?:_on)?", Kind.BIRTH_DATE, cue=Cue.BIRTH),
    _rule(r"zip|zip_?code|zip4|postal(?:_code)?|post_?code", Kind.ADDRESS, cue=Cue.ZIP),
    _rule(r"lat|latitude", Kind.PRECISE_GEO, cue=Cue.LATITUDE),
    _rule(r"lon|lng|longitude", Kind.PRECISE_GEO, cue=Cue.LONGITUDE),
    _rule(r"geo|geo_?point|location|coords?|coordinates|lat_?lng|lat_?lon|gps", Kind.PRECISE_GEO, strong=False),
    _rule(
        r"(?:mailing_|shipping_|billing_|home_|street_|postal_)?addr(?:ess)?(?:_?line)?_?\d?|street_?\d?"
        r"|line_?[12]",
        Kind.ADDRESS,
    ),
    _rule(
        r"(?:first|last|middle|given|family|full|legal|maiden|customer|contact|cardholder|account_holder"
        r"|recipient|sender|billing|shipping)_name|surname|fname|lname",
        Kind.PERSON_NAME,
    ),
    _rule(r"name", Kind.PERSON_NAME, strong=False),
    _rule(
        r"sku|upc|ean|gtin|isbn|barcode|(?:tracking|invoice|order|confirmation|serial|receipt|po)(?:_no|_num|_number"
        r"|_ref|_code|_id)?",
        None,
        cue=Cue.PRODUCT_CODE,
    ),
)
# Names that only label a fact about the PI (email_verified, phone_country, is_mobile), not the PI itself.
QUALIFIERS = re.compile(
    r"_(?:verified|confirmed|consent|opt_?in|opt_?out|country|type|count|enabled|set|changed"
    r"|updated_at|at|status|domain|last4|prefix|length)$"
)


def normalise(name: str) -> str:
    """`billingEmail`, `Billing-Email`, `billing.email` → billing_email."""
    return SEPARATORS.sub("_", CAMEL_BOUNDARY.sub("_", name).lower()).strip("_")


def hint(field_path: str) -> NameHint:
    """The hint of the last path segment (`user.address.zip` → zip), else of the whole path."""
    last = field_path.rsplit(".", 1)[-1]
    found = _match(normalise(last))
    return found if not found.silent or last == field_path else _match(normalise(field_path))


def _match(name: str) -> NameHint:
    if not name or QUALIFIERS.search(name) or name.startswith(("is_", "has_")):
        return NameHint()
    for pattern, rule_hint in RULES:
        if pattern.search(name):
            return rule_hint
    return NameHint()
