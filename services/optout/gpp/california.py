"""California choices from GPP sections, and the strings the opt-out service publishes."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from services.optout.gpp.bits import PrivacyStringError
from services.optout.gpp.strings import GppString, encode_gpp
from services.optout.gpp.usp import UsPrivacy, encode_usp

# --- California mapping and the strings the opt-out service publishes -----------------------------------------

USCA_SENSITIVE_SLOTS = (
    "ssn_dl_state_id_passport",
    "account_login_financial_credentials",
    "precise_geolocation",
    "racial_ethnic_religious_union",
    "mail_email_text_contents",
    "genetic",
    "biometric_identification",
    "health",
    "sex_life_orientation",
)


@dataclass(frozen=True)
class CaliforniaChoices:
    """What a GPP string asks of a California business; None where the string does not say."""

    sale_opt_out: bool | None
    share_opt_out: bool | None
    limit_sensitive: list[str]
    gpc: bool | None


def _gpc(sections: list[dict[str, Any]]) -> bool | None:
    signals = [section["Gpc"] for section in sections if "Gpc" in section]
    return True if True in signals else (False if signals else None)


def _choice(values: list[int], opted_out: bool) -> bool | None:
    return True if opted_out else (False if 2 in values else None)


def california_choices(gpp: GppString) -> CaliforniaChoices:
    """Any opt-out (SaleOptOut=1, SharingOptOut=1, Gpc, uspv1 OptOutSale=Y) is one of sale and sharing (§1798.120)."""
    sections = [gpp.sections[name] for name in ("usca", "usnat") if name in gpp.sections]
    usp_sale = {"Y": [1], "N": [2]}.get(gpp.sections.get("uspv1", {}).get("OptOutSale", "-"), [])
    sale = [section.get("SaleOptOut", 0) for section in sections] + usp_sale
    share = [section.get("SharingOptOut", 0) for section in sections]
    gpc = _gpc(sections)
    opted_out = gpc is True or 1 in sale or 1 in share
    sensitive = gpp.sections.get("usca", {}).get("SensitiveDataProcessing", [])
    limits = [slot for slot, value in zip(USCA_SENSITIVE_SLOTS, sensitive, strict=False) if value == 1]
    return CaliforniaChoices(_choice(sale, opted_out), _choice(share, opted_out), limits, gpc)


def _usca_fields(sale_opt_out: bool, share_opt_out: bool, limits: AbstractSet[str], covered: bool) -> dict[str, Any]:
    return {
        "Version": 1,
        "SaleOptOutNotice": 1,
        "SharingOptOutNotice": 1,
        "SensitiveDataLimitUseNotice": 1,
        "SaleOptOut": 1 if sale_opt_out else 2,
        "SharingOptOut": 1 if share_opt_out else 2,
        "SensitiveDataProcessing": [1 if slot in limits else 2 for slot in USCA_SENSITIVE_SLOTS],
        "KnownChildSensitiveDataConsents": [0, 0],
        "PersonalDataConsents": 0,
        "MspaCoveredTransaction": 1 if covered else 2,
        "MspaOptOutOptionMode": 0,
        "MspaServiceProviderMode": 0,
    }


def usca_for(
    sale_opt_out: bool,
    share_opt_out: bool,
    limits: AbstractSet[str],
    gpc: bool | None,
    *,
    mspa_covered_transaction: bool = False,
) -> str:
    """Header + usca for a consumer's current choices; gpc None leaves out the GPC sub-segment."""
    unknown = sorted(set(limits) - set(USCA_SENSITIVE_SLOTS))
    if unknown:
        raise PrivacyStringError(
            f"usca_for limits: {unknown[0]!r} is not a usca sensitive-data slot; "
            f"expected one of {', '.join(USCA_SENSITIVE_SLOTS)}"
        )
    if gpc and not (sale_opt_out and share_opt_out):
        raise PrivacyStringError(
            "usca_for: gpc=True needs sale_opt_out and share_opt_out True "
            "(a GPC signal is an opt-out of sale and sharing, Regs §7025)"
        )
    fields = _usca_fields(sale_opt_out, share_opt_out, limits, mspa_covered_transaction)
    if gpc is not None:
        fields["Gpc"] = gpc
    return encode_gpp(GppString(sections={"usca": fields}))


def usp_for(sale_opt_out: bool) -> str:
    """`1YYN` or `1YNN`: notice given, the sale choice, not an LSPA covered transaction."""
    return encode_usp(UsPrivacy("Y", "Y" if sale_opt_out else "N", "N"))
