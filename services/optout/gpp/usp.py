"""The IAB US Privacy string (CCPA v1) and the GPP uspv1 section (6) that carries it unencoded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from services.optout.gpp.bits import Checks, PrivacyStringError

# --- US Privacy string (CCPA v1) and the uspv1 section (id 6) ------------------------------------------------

UspFlag = Literal["Y", "N", "-"]
_USP_POSITIONS = ("Notice", "OptOutSale", "LspaCovered")


@dataclass(frozen=True)
class UsPrivacy:
    """`[Version][Notice][OptOutSale][LspaCovered]`: Y yes, N no, - not applicable."""

    notice: UspFlag
    opt_out_sale: UspFlag
    lspa_covered: UspFlag
    version: int = 1

    @property
    def ccpa_applies(self) -> bool:
        return self.opt_out_sale != "-"


def _check_usp(usp: UsPrivacy) -> None:
    if isinstance(usp.version, bool) or usp.version != 1:
        raise PrivacyStringError(f"us_privacy Version (position 1): {usp.version!r} is not supported, expected 1")
    flags = (usp.notice, usp.opt_out_sale, usp.lspa_covered)
    for position, (name, flag) in enumerate(zip(_USP_POSITIONS, flags, strict=True), start=2):
        if flag not in ("Y", "N", "-"):
            raise PrivacyStringError(
                f"us_privacy {name} (position {position}): {flag!r} is not allowed, expected 'Y', 'N' or '-'"
            )
    if usp.opt_out_sale == "-" and (usp.notice, usp.lspa_covered) != ("-", "-"):
        raise PrivacyStringError(
            f"us_privacy OptOutSale (position 3): '-' means CCPA does not apply, but Notice "
            f"{usp.notice!r} and LspaCovered {usp.lspa_covered!r} say it does; expected "
            "'Y' or 'N' here, or '-' in every position"
        )


def decode_usp(text: str) -> UsPrivacy:
    """Parse a 4-character US Privacy string such as `1YNN`."""
    if len(text) != 4:
        raise PrivacyStringError(
            f"us_privacy: {text!r} has {len(text)} characters, expected 4 ([Version][Notice][OptOutSale][LspaCovered])"
        )
    if text[0] != "1":
        raise PrivacyStringError(f"us_privacy Version (position 1): {text[0]!r} is not supported, expected '1'")
    flags = cast(tuple[UspFlag, UspFlag, UspFlag], tuple(text[1:]))
    usp = UsPrivacy(*flags)
    _check_usp(usp)
    return usp


def encode_usp(usp: UsPrivacy) -> str:
    _check_usp(usp)
    return f"{usp.version}{usp.notice}{usp.opt_out_sale}{usp.lspa_covered}"


def decode_uspv1(text: str, checks: Checks) -> dict[str, Any]:
    usp = decode_usp(text)
    return {
        "Version": usp.version,
        "Notice": usp.notice,
        "OptOutSale": usp.opt_out_sale,
        "LspaCovered": usp.lspa_covered,
    }


def encode_uspv1(fields: Mapping[str, Any]) -> str:
    expected = {"Version", *_USP_POSITIONS}
    if set(fields) != expected:
        raise PrivacyStringError(f"uspv1: fields are {sorted(fields)}, expected {sorted(expected)}")
    return encode_usp(UsPrivacy(fields["Notice"], fields["OptOutSale"], fields["LspaCovered"], fields["Version"]))
