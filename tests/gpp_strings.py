"""GPP test helpers the codec's test files share: the usca header, section ids and a bit rewriter."""

from __future__ import annotations

from typing import Any

from services.optout.gpp import base64url_to_bits, bits_to_base64url, decode_gpp

# usca's notices and opt-outs, in the order of the section's core segment.
USCA_CHOICES = ("SaleOptOutNotice", "SharingOptOutNotice", "SensitiveDataLimitUseNotice", "SaleOptOut", "SharingOptOut")
USCA_HEADER = "DBABBg~"
SECTION_IDS = {"uspv1": 6, "usnat": 7, "usca": 8}


def usca(text: str, strict: bool = True) -> dict[str, Any]:
    return decode_gpp(USCA_HEADER + text, strict=strict).sections["usca"]


def with_bits(section: str, start: int, bits: str) -> str:
    """`section`'s core segment with `bits` written from bit `start`: builds the negative vectors."""
    core, *rest = section.split(".")
    original = base64url_to_bits(core)
    changed = original[:start] + bits + original[start + len(bits) :]
    return ".".join([bits_to_base64url(changed), *rest])
