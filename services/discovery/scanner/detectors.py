"""Value detectors: is one value (or a substring of free text) an email, phone, SSN, card number, IP, coordinate…

Precise rather than eager: formats are validated (Luhn and card prefixes, SSA ranges, phonenumbers metadata,
ipaddress, IBAN mod-97), and values that are ambiguous on their own (bare digits as a phone or SSN, a ZIP code,
a date of birth, a lone coordinate) count only when the field's name gives the cue.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import unquote

import phonenumbers


class Kind(StrEnum):
    """What a value or a field holds."""

    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    CARD = "card_number"
    IBAN = "iban"
    IP = "ip_address"
    PRECISE_GEO = "precise_geolocation"
    COARSE_GEO = "coarse_geolocation"
    BIRTH_DATE = "birth_date"
    ADDRESS = "postal_address"
    # Found by the field's name only: no value format tells them apart from other text.
    PERSON_NAME = "person_name"
    PASSPORT = "passport_number"
    DRIVERS_LICENSE = "drivers_license"
    PASSWORD = "password"
    SECURITY_ANSWER = "security_answer"
    DEVICE_ID = "device_id"
    COOKIE_ID = "cookie_id"


class Cue(StrEnum):
    """What a field's name says where the value alone is ambiguous, or rules a kind out."""

    PHONE = "phone"
    SSN = "ssn"
    ZIP = "zip"
    BIRTH = "birth"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    VERSION = "version"  # 1.2.3.4 is a version, not an IP address
    PRODUCT_CODE = "product_code"  # order numbers, SKUs, barcodes: digits that are neither phones nor cards


MAX_VALUE_LENGTH = 120
MIN_BIRTH_YEAR = 1900
MIN_AGE_YEARS = 13
STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP"
})  # fmt: skip
NOT_ISSUED_SSNS = frozenset({"078051120", "219099999"})  # published in advertising, never a person's

EMAIL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}"
                   r"[A-Za-z0-9])?\.)+[A-Za-z]{2,24}")  # fmt: skip
EMAIL_IN_TEXT = re.compile(r"(?<![\w.%+\-])" + EMAIL.pattern + r"(?![\w\-])")
SSN = re.compile(r"(\d{3})-(\d{2})-(\d{4})")
SSN_IN_TEXT = re.compile(r"(?<![\d\-])(\d{3})-(\d{2})-(\d{4})(?![\d\-])")
SSN_BARE = re.compile(r"(\d{3})[ ]?(\d{2})[ ]?(\d{4})")
CARD = re.compile(r"\d(?:[ \-]?\d){12,18}")
CARD_IN_TEXT = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])")
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
IPV4_IN_TEXT = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}")
PHONE = re.compile(r"\+?[\d\s().\-]{7,24}")
PHONE_DIGITS = re.compile(r"\d{10,15}")
PHONE_FORMATTING = re.compile(r"[\s().\-+]")
PHONE_IN_TEXT = re.compile(r"(?<![\w+\-])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)[\s.\-]?|\d{2,4}[\s.\-])"
                           r"\d{3,4}[\s.\-]\d{3,4}(?![\w\-])|(?<![\w+])\+\d{7,14}(?!\d)")  # fmt: skip
GEO_PAIR = re.compile(r"[\[(]?\s*(-?\d{1,2}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})\s*[\])]?")
GEO_PAIR_IN_TEXT = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})(?![\d.])")
IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
EMBEDDING_MARKS = ("@", "%40", "://", "=", ",", ";")
DIGIT = re.compile(r"\d")
NUMBER = re.compile(r"[+\-]?\d{1,3}(?:\.\d+)?")
ZIP = re.compile(r"\d{5}(?:-\d{4})?")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+\-]\d{2}:?\d{2})?)?")
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
STREET_SUFFIX = (r"(?:St|Street|Ave|Avenue|Blvd|Boulevard|Rd|Road|Dr|Drive|Ln|Lane|Way|Ct|Court|Pl|Place|Ter|Terrace"
                 r"|Pkwy|Parkway|Hwy|Highway|Cir|Circle|Sq|Square|Trl|Trail)")  # fmt: skip
STREET_NAME = r"(?:[A-Z][A-Za-z'\-]+\.?\s+|\d{1,3}(?:st|nd|rd|th)\s+){1,4}"  # Main, Martin Luther King, 5th
STREET = re.compile(r"(?<![\w\-])\d{1,6}[A-Z]?\s+(?:[NSEW]\.?\s+)?" + STREET_NAME + STREET_SUFFIX
                    + r"\b\.?(?=\s*(?:,|$|\n|;|#|(?:Apt|Suite|Ste|Unit|Fl|Floor)\b))")  # fmt: skip
CITY_STATE_ZIP = re.compile(r",\s*([A-Z]{2})\s+\d{5}(?:-\d{4})?(?![\d\-])")


def detect(value: object, cue: Cue | None = None) -> Kind | None:
    """The kind of personal information the whole value is, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _birth_date(value.date(), cue)
    if isinstance(value, date):
        return _birth_date(value, cue)
    if isinstance(value, int | float | Decimal):
        return _number(value, cue)
    if isinstance(value, str):
        text = value.strip()
        return _string(text, cue) if 0 < len(text) <= MAX_VALUE_LENGTH else None
    return None


def contains(text: str) -> frozenset[Kind]:
    """Kinds found inside free text, URLs and lists (a ticket, `?e=jane%40example.com`), each validated like a
    whole value; private IPv4 addresses inside text are the company's own hosts, not a consumer's.
    """
    if "%" in text:
        text = unquote(text)
    found: set[Kind] = set()
    if "@" in text and EMAIL_IN_TEXT.search(text):
        found.add(Kind.EMAIL)
    if any(valid_ssn(*match.groups()) for match in SSN_IN_TEXT.finditer(text)):
        found.add(Kind.SSN)
    if any(is_card_number(match.group()) for match in CARD_IN_TEXT.finditer(text)):
        found.add(Kind.CARD)
    if _phone_in_text(text):
        found.add(Kind.PHONE)
    if any(is_ip_address(match.group(), private=False) for match in IPV4_IN_TEXT.finditer(text)):
        found.add(Kind.IP)
    if any(_coordinates(*match.groups()) for match in GEO_PAIR_IN_TEXT.finditer(text)):
        found.add(Kind.PRECISE_GEO)
    if STREET.search(text) or any(match.group(1) in STATES for match in CITY_STATE_ZIP.finditer(text)):
        found.add(Kind.ADDRESS)
    return frozenset(found)


def worth_searching(value: str) -> bool:
    """Prose of several words, or a URL, query string or list that may embed an email, phone or address."""
    if len(value) >= 16 and value.count(" ") >= 2:
        return True
    return len(value) >= 8 and any(mark in value for mark in EMBEDDING_MARKS)


def _string(text: str, cue: Cue | None) -> Kind | None:
    if "@" in text:
        return Kind.EMAIL if EMAIL.fullmatch(text) else None
    if not DIGIT.search(text):
        return None  # every other kind has digits: words, statuses and names end here
    if (match := SSN.fullmatch(text)) and valid_ssn(*match.groups()):
        return Kind.SSN
    if cue is not Cue.PRODUCT_CODE and CARD.fullmatch(text) and is_card_number(text):
        return Kind.CARD
    if cue is not Cue.VERSION and is_ip_address(text):
        return Kind.IP
    if cue is not Cue.PRODUCT_CODE and is_phone(text, bare_digits=cue is Cue.PHONE):
        return Kind.PHONE
    if (match := GEO_PAIR.fullmatch(text)) and _coordinates(*match.groups()):
        return Kind.PRECISE_GEO
    if is_iban(text):
        return Kind.IBAN
    if is_postal_address(text):
        return Kind.ADDRESS
    return _cued_string(text, cue)


def _cued_string(text: str, cue: Cue | None) -> Kind | None:
    if cue is Cue.SSN and (match := SSN_BARE.fullmatch(text)) and valid_ssn(*match.groups()):
        return Kind.SSN
    if cue is Cue.ZIP and ZIP.fullmatch(text) and text[:5] != "00000":
        return Kind.ADDRESS
    if cue is Cue.BIRTH:
        return _birth_date(parse_date(text), cue)
    if cue in (Cue.LATITUDE, Cue.LONGITUDE) and NUMBER.fullmatch(text):
        return _coordinate(Decimal(text), cue)
    return None


def _number(value: int | float | Decimal, cue: Cue | None) -> Kind | None:
    if cue in (Cue.LATITUDE, Cue.LONGITUDE):
        return _coordinate(value, cue)
    if isinstance(value, int) and value >= 0:
        if cue is Cue.ZIP:
            return Kind.ADDRESS if 501 <= value <= 99950 else None  # integer columns drop the leading zero
        if cue is Cue.SSN:
            return _cued_string(f"{value:09d}", cue)
        return _string(str(value), cue)
    return None


def valid_ssn(area: str, group: str, serial: str) -> bool:
    """The SSA never issues area 000, 666 or 900 to 999, group 00 or serial 0000."""
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        return False
    return area + group + serial not in NOT_ISSUED_SSNS


def is_card_number(text: str) -> bool:
    """13 to 19 digits in even groups, a known issuer prefix and a valid Luhn check digit."""
    groups = re.split(r"[ \-]", text)
    if len(groups) > 1 and (min(len(group) for group in groups) < 3 or len(set(re.findall(r"[ \-]", text))) > 1):
        return False
    digits = "".join(groups)
    return 13 <= len(digits) <= 19 and _known_issuer(digits) and luhn_valid(digits)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char) * (2 if index % 2 else 1)
        total += number - 9 if number > 9 else number
    return total % 10 == 0


def _known_issuer(digits: str) -> bool:
    length, two, three, four, six = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    return any((
        digits[0] == "4" and length in (13, 16, 19),  # Visa
        (51 <= two <= 55 or 2221 <= four <= 2720) and length == 16,  # Mastercard
        two in (34, 37) and length == 15,  # American Express
        (four == 6011 or 644 <= three <= 649 or two == 65 or 622126 <= six <= 622925) and length >= 16,  # Discover
        (300 <= three <= 305 or two in (36, 38, 39) or four == 3095) and length >= 14,  # Diners Club
        3528 <= four <= 3589 and length >= 16,  # JCB
        two == 62 and length >= 16,  # UnionPay
        two in (50, 56, 57, 58, 63, 67) and length >= 13,  # Maestro
    ))  # fmt: skip


def is_ip_address(text: str, private: bool = True) -> bool:
    """A routable-looking IPv4 (four octets) or IPv6 address; not loopback, unspecified, multicast or reserved."""
    if IPV4.fullmatch(text):
        if text.startswith("0"):
            return False  # 0.x.y.z is "this network", and the shape of many version numbers
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(text)
        except ValueError:
            return False
    elif text.count(":") >= 2 and IPV6.fullmatch(text):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return False
    else:
        return False
    if not private and address.is_private:
        return False
    return not (address.is_unspecified or address.is_loopback or address.is_multicast or address.is_reserved
                or address.is_link_local)  # fmt: skip


def is_phone(text: str, bare_digits: bool = False) -> bool:
    """A valid number by phonenumbers' metadata (region US unless it starts with +); bare digits only when cued."""
    if not PHONE.fullmatch(text) or not PHONE_DIGITS.fullmatch(re.sub(r"\D", "", text)):
        return False
    if not bare_digits and not PHONE_FORMATTING.search(text):
        return False  # 4155550134 alone is as likely an order number as a phone
    return _valid_number(text)


def _valid_number(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))
    except phonenumbers.NumberParseException:
        return False


def _phone_in_text(text: str) -> bool:
    # Candidates by a cheap pattern, then phonenumbers decides: PhoneNumberMatcher costs ~50x more on log lines.
    return any(is_phone(match.group()) for match in PHONE_IN_TEXT.finditer(text))


def is_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if not IBAN.fullmatch(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def is_postal_address(text: str) -> bool:
    """A street line (number, name, suffix) at the start, or ", ST 12345" with a US state."""
    if STREET.match(text):
        return True
    return "," in text and any(found.group(1) in STATES for found in CITY_STATE_ZIP.finditer(text))


def parse_date(text: str) -> date | None:
    try:
        if match := ISO_DATE.fullmatch(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := US_DATE.fullmatch(text):
            return date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    except ValueError:
        return None
    return None


def _birth_date(value: date | None, cue: Cue | None) -> Kind | None:
    """A date of birth: cued by the field's name, from 1900 to 13 years ago."""
    if cue is not Cue.BIRTH or value is None:
        return None
    today = date.today()
    latest = today.replace(year=today.year - MIN_AGE_YEARS, day=min(today.day, 28))
    return Kind.BIRTH_DATE if date(MIN_BIRTH_YEAR, 1, 1) <= value <= latest else None


def _coordinate(value: int | float | Decimal, cue: Cue | None) -> Kind | None:
    """A latitude or longitude in range; precise with four decimals or more (about 11 m)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    limit = 90 if cue is Cue.LATITUDE else 180
    if not number.is_finite() or abs(number) > limit:
        return None
    return Kind.PRECISE_GEO if decimals(number) >= 4 else Kind.COARSE_GEO


def _coordinates(latitude: str, longitude: str) -> bool:
    return abs(Decimal(latitude)) <= 90 and abs(Decimal(longitude)) <= 180


def decimals(number: Decimal) -> int:
    """Significant decimal places: 37.774900 has four."""
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
