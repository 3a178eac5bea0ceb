"""IAB privacy strings for the opt-out service: GPP (header, usca, usnat, uspv1) and the US Privacy string.

Pure codec: decode what browsers and CMPs send, encode what the opt-out service publishes (reference §5.3, §5.4).
"""

from services.optout.gpp.bits import (
    ALPHABET,
    PrivacyStringError,
    base64url_to_bits,
    bits_to_base64url,
    fibonacci_decode,
    fibonacci_encode,
)
from services.optout.gpp.california import (
    USCA_SENSITIVE_SLOTS,
    CaliforniaChoices,
    california_choices,
    usca_for,
    usp_for,
)
from services.optout.gpp.sections import HEADER_TYPE, MAX_SECTION_ID, SECTION_NAMES, encode_fibonacci_range
from services.optout.gpp.strings import GppString, decode_gpp, encode_gpp, is_us_privacy
from services.optout.gpp.usp import UsPrivacy, decode_usp, encode_usp

__all__ = [
    "ALPHABET",
    "HEADER_TYPE",
    "MAX_SECTION_ID",
    "SECTION_NAMES",
    "USCA_SENSITIVE_SLOTS",
    "CaliforniaChoices",
    "GppString",
    "PrivacyStringError",
    "UsPrivacy",
    "base64url_to_bits",
    "bits_to_base64url",
    "california_choices",
    "decode_gpp",
    "decode_usp",
    "encode_fibonacci_range",
    "encode_gpp",
    "encode_usp",
    "fibonacci_decode",
    "fibonacci_encode",
    "is_us_privacy",
    "usca_for",
    "usp_for",
]
